import { describe, expect, it } from "vitest";
import type { GpuAttestationEvidence } from "../../src/shared/verification/attestation/attestation-messages.js";
import { verifyGpuAttestation } from "../../src/shared/verification/attestation/gpu-attestation.js";
import { fromHex, toBase64 } from "../../src/shared/verification/bytes.js";
import forgedChain from "../fixtures/nvidia-attestation/forged-chain.pem?raw";
import forgedReport from "../fixtures/nvidia-attestation/forged-report.txt?raw";
import forgedRoot from "../fixtures/nvidia-attestation/forged-root.pem?raw";
import hgxEvidence from "../fixtures/nvidia-attestation/gpu_evidence.json";
import sampleReport from "../fixtures/nvidia-attestation/hopperAttestationReport.txt?raw";
import sampleChain from "../fixtures/nvidia-attestation/hopperCertChain.txt?raw";

/**
 * The attestation verifier in workerd (the Region object's runtime, its WebCrypto) on real GH100
 * evidence from NVIDIA's nvtrust repository (test/fixtures/nvidia-attestation/README.md): eight
 * GPUs of one HGX board and one more GPU, each report for the nonce it was captured with.
 */

const NOW = Date.UTC(2027, 0, 1);
const HGX_NONCE = "4760e30534a0621357d458b1a7936551b5dc4cd1e69718adf7ed9fb0252a537e";
const SAMPLE_NONCE = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";

const text = (value: string) => toBase64(new TextEncoder().encode(value));
const sample: GpuAttestationEvidence = {
  evidence: toBase64(fromHex(sampleReport.trim())),
  certificate: text(sampleChain),
};
const forged: GpuAttestationEvidence = {
  evidence: toBase64(fromHex(forgedReport.trim())),
  certificate: text(forgedChain),
};

function flipped(evidence: GpuAttestationEvidence, at: (length: number) => number): GpuAttestationEvidence {
  const bytes = Uint8Array.from(atob(evidence.evidence), (char) => char.charCodeAt(0));
  const index = at(bytes.length);
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return { ...evidence, evidence: toBase64(bytes) };
}

async function failure(
  evidence: GpuAttestationEvidence,
  options: { nonce?: string; claimedModel?: string; now?: number; roots?: string[] } = {},
): Promise<string> {
  const verdict = await verifyGpuAttestation({
    evidence,
    nonce: options.nonce ?? SAMPLE_NONCE,
    claimedModel: options.claimedModel ?? "H100-SXM",
    now: options.now ?? NOW,
    ...(options.roots ? { roots: options.roots } : {}),
  });
  if (verdict.status !== "failed") throw new Error("expected the evidence to fail");
  return verdict.reason.code;
}

describe("GPU attestation on real NVIDIA evidence", () => {
  it("attests each of the eight HGX GPUs as a distinct GH100, with its signed driver and VBIOS", async () => {
    expect(hgxEvidence).toHaveLength(8);
    const devices = new Set<string>();
    for (const gpu of hgxEvidence) {
      expect(gpu.nonce).toBe(HGX_NONCE);
      const verdict = await verifyGpuAttestation({
        evidence: { evidence: gpu.evidence, certificate: gpu.certificate },
        nonce: gpu.nonce,
        claimedModel: "H100-SXM",
        now: NOW,
      });
      expect(verdict).toMatchObject({
        status: "attested",
        chip: "GH100",
        driverVersion: gpu.driver_version,
        vbiosVersion: gpu.vbios_version,
        project: "G520",
        projectSku: "0200",
      });
      if (verdict.status === "attested") devices.add(verdict.deviceId);
    }
    expect(devices.size).toBe(8);
    expect(devices).toContain("412921CE551E4EEDA3");
  });

  it("attests nvtrust's sample report with the nonce it carries, for every GH100 part", async () => {
    for (const claimedModel of ["H100-SXM", "H100-PCIE", "H200"]) {
      const verdict = await verifyGpuAttestation({
        evidence: sample,
        nonce: SAMPLE_NONCE,
        claimedModel,
        now: NOW,
      });
      expect(verdict).toMatchObject({
        status: "attested",
        chip: "GH100",
        deviceId: "41431D480FE5E87274",
        driverVersion: "550.90.07",
        vbiosVersion: "96.00.9F.00.01",
        project: "1010",
      });
    }
  });

  it("refuses the report for any other nonce than the one issued (a replay)", async () => {
    expect(await failure(sample, { nonce: HGX_NONCE })).toBe("nonce_mismatch");
    expect(await failure(sample, { nonce: "0".repeat(64) })).toBe("nonce_mismatch");
  });

  it("refuses a report with one byte flipped: in a measurement, the opaque data, the signature, the nonce", async () => {
    expect(await failure(flipped(sample, () => 37 + 8 + 100))).toBe("bad_report_signature");
    expect(await failure(flipped(sample, (length) => length - 96 - 50))).toBe("bad_report_signature");
    expect(await failure(flipped(sample, (length) => length - 1))).toBe("bad_report_signature");
    expect(await failure(flipped(sample, (length) => length - 60))).toBe("bad_report_signature");
    expect(await failure(flipped(sample, () => 10))).toBe("nonce_mismatch");
  });

  it("refuses one GPU's report under another GPU's certificate chain", async () => {
    const [first, second] = hgxEvidence;
    if (!first || !second) throw new Error("fixture");
    const crossed = { evidence: first.evidence, certificate: second.certificate };
    expect(await failure(crossed, { nonce: HGX_NONCE })).toBe("bad_report_signature");
  });

  it("refuses a chain to another root, even one named like NVIDIA's and consistent in every other way", async () => {
    expect(await failure(forged)).toBe("untrusted_root");
    // The same evidence attests against its own root: the pin is what refuses it.
    const verdict = await verifyGpuAttestation({
      evidence: forged,
      nonce: SAMPLE_NONCE,
      claimedModel: "H100-SXM",
      now: NOW,
      roots: [forgedRoot],
    });
    expect(verdict).toMatchObject({ status: "attested", chip: "GH100", deviceId: "4100000000000000FF" });
    // And the real chain is refused where only the forged root is trusted.
    expect(await failure(sample, { roots: [forgedRoot] })).toBe("untrusted_root");
  });

  it("refuses a chain whose links are broken: a certificate dropped, or one GPU's leaf on another's chain", async () => {
    const pems = sampleChain.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    expect(pems).toHaveLength(5);
    const dropped = [pems[0], ...pems.slice(2)].join("\n");
    expect(await failure({ ...sample, certificate: text(dropped) })).toBe("bad_chain");
    const second = hgxEvidence[1];
    if (!second) throw new Error("fixture");
    const otherPems =
      atob(second.certificate).match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
    const grafted = [pems[0], ...otherPems.slice(1)].join("\n");
    expect(await failure({ ...sample, certificate: text(grafted) })).toBe("bad_chain");
    expect(await failure({ ...sample, certificate: text(pems.slice(4).join("\n")) })).toBe("bad_chain");
  });

  it("refuses a claim the evidence does not back: a part that cannot attest, or a time before the chain", async () => {
    expect(await failure(sample, { claimedModel: "RTX-4090" })).toBe("part_mismatch");
    expect(await failure(sample, { claimedModel: "B200" })).toBe("part_mismatch");
    expect(await failure(sample, { now: Date.UTC(2019, 0, 1) })).toBe("certificate_expired");
  });

  it("turns malformed evidence into a failed verdict, never a throw", async () => {
    const truncated = { ...sample, evidence: sample.evidence.slice(0, 400) };
    expect(await failure(truncated)).toBe("malformed_report");
    expect(await failure({ ...sample, evidence: toBase64(new Uint8Array(4117)) })).toBe("malformed_report");
    expect(await failure({ ...sample, certificate: text("not a certificate") })).toBe("bad_chain");
    const garbled = sampleChain.replace(/MII[A-Za-z0-9+/]{40}/, `MII${"A".repeat(40)}`);
    expect(await failure({ ...sample, certificate: text(garbled) })).toMatch(
      /malformed_certificate|bad_chain/,
    );
  });
});
