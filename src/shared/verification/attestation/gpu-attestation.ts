import { fromBase64 } from "../bytes.js";
import { attestedChipOf } from "./attestable-parts.js";
import { AttestationFailure } from "./attestation-failure.js";
import type { AttestationVerdict, GpuAttestationEvidence } from "./attestation-messages.js";
import { importP384, verifyChain } from "./cert-chain.js";
import { NVIDIA_DEVICE_IDENTITY_ROOT } from "./nvidia-roots.js";
import { OPAQUE, opaqueText, parseSpdmReport, vbiosVersionOf } from "./spdm-report.js";

export interface AttestationInput {
  evidence: GpuAttestationEvidence;
  /** The nonce this region issued for the challenge, hex. */
  nonce: string;
  /** The catalogue part the node claims for the GPU. */
  claimedModel: string;
  now: number;
  /** The pinned roots (PEM); NVIDIA's device identity root by default. Tests pass another. */
  roots?: readonly string[];
}

/**
 * Verifies a GPU's attestation evidence, as NVIDIA's local verifier does for the part that proves
 * identity: the report parses as a signed SPDM 1.1 MEASUREMENTS exchange; its request carries the
 * nonce this region issued (so it is fresh, not a replay); its signature verifies with the leaf
 * certificate's key; the chain runs to a pinned NVIDIA root; and the chip the device certificate
 * names is the claimed part's. Never throws for bad evidence: every failure is a `failed` verdict.
 *
 * What it does not check, and why (docs/VERIFICATION.md): the measurements against NVIDIA's golden
 * values (RIMs) and the certificates' revocation (OCSP) both need NVIDIA's online services, which
 * the region does not call while judging. Identity is what proof-of-GPU needs: a CPU or a smaller
 * part cannot sign as a GH100, whatever its speed.
 */
export async function verifyGpuAttestation(input: AttestationInput): Promise<AttestationVerdict> {
  try {
    return await verify(input);
  } catch (error) {
    if (error instanceof AttestationFailure) {
      return { status: "failed", reason: { code: error.code, message: error.message }, at: input.now };
    }
    // WebCrypto refusing a key or signature shape is bad evidence too, never a region fault.
    if (error instanceof Error && (error.name === "DataError" || error.name === "TypeError")) {
      return {
        status: "failed",
        reason: {
          code: "malformed_certificate",
          message: `a key or signature is unusable: ${error.message}`,
        },
        at: input.now,
      };
    }
    throw error;
  }
}

async function verify(input: AttestationInput): Promise<AttestationVerdict> {
  const expectedChip = attestedChipOf(input.claimedModel);
  if (expectedChip === undefined) {
    throw new AttestationFailure("part_mismatch", `a ${input.claimedModel} cannot attest`);
  }
  const reportBytes = fromBase64(input.evidence.evidence);
  if (!reportBytes) throw new AttestationFailure("malformed_report", "the report is not base64");
  const pemBytes = fromBase64(input.evidence.certificate);
  if (!pemBytes) throw new AttestationFailure("malformed_certificate", "the certificate chain is not base64");
  const report = parseSpdmReport(reportBytes);
  if (report.requestNonce !== input.nonce) {
    throw new AttestationFailure(
      "nonce_mismatch",
      "the report answers another nonce than the one this region issued (a replayed or foreign report)",
    );
  }
  const chain = await verifyChain(
    new TextDecoder().decode(pemBytes),
    input.roots ?? [NVIDIA_DEVICE_IDENTITY_ROOT],
    input.now,
  );
  const [leaf, device] = chain;
  if (!leaf || !device)
    throw new AttestationFailure("bad_chain", "the chain has no leaf and device certificate");
  const signed = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-384" },
    await importP384(leaf),
    report.signature,
    report.signed,
  );
  if (!signed) {
    throw new AttestationFailure(
      "bad_report_signature",
      "the report's signature does not verify with the leaf key",
    );
  }
  // The device certificate ("GH100 A01 GSP BROM", issued by NVIDIA's provisioning CA) names the
  // chip; the leaf (the firmware's alias key, which the device key signed) must name the same.
  const chip = firstWord(device.subjectCommonName);
  if (chip !== expectedChip || firstWord(leaf.subjectCommonName) !== chip) {
    throw new AttestationFailure(
      "part_mismatch",
      `the GPU attests as a ${chip ?? "unnamed chip"}; a ${input.claimedModel} is a ${expectedChip}`,
    );
  }
  if (!device.subjectSerialNumber) {
    throw new AttestationFailure("bad_chain", "the device certificate carries no serial number");
  }
  return {
    status: "attested",
    chip,
    deviceId: device.subjectSerialNumber,
    driverVersion: opaqueText(report, OPAQUE.driverVersion) ?? null,
    vbiosVersion: vbiosVersionOf(report) ?? null,
    project: opaqueText(report, OPAQUE.project) ?? null,
    projectSku: opaqueText(report, OPAQUE.projectSku) ?? null,
    at: input.now,
  };
}

function firstWord(text: string | undefined): string | undefined {
  return text?.split(" ")[0];
}
