/**
 * bench:verify, part 6: the verifier's CPU time for a GPU's attestation evidence, on the nine real
 * GH100 reports in test/fixtures/nvidia-attestation (parse, nonce, the report's ECDSA P-384
 * signature, four certificate signatures to the pinned root), each with the nonce it carries. Shown
 * against the same run's H100-SXM compute-phase verifier time, what every challenge already costs.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { GpuAttestationEvidence } from "../src/shared/verification/attestation/attestation-messages.js";
import { verifyGpuAttestation } from "../src/shared/verification/attestation/gpu-attestation.js";
import { fromHex, toBase64 } from "../src/shared/verification/bytes.js";

const FIXTURES = path.join(import.meta.dirname, "../test/fixtures/nvidia-attestation");

function realEvidence(): { evidence: GpuAttestationEvidence; nonce: string }[] {
  const hgx = JSON.parse(readFileSync(path.join(FIXTURES, "gpu_evidence.json"), "utf8")) as {
    evidence: string;
    certificate: string;
    nonce: string;
  }[];
  const report = readFileSync(path.join(FIXTURES, "hopperAttestationReport.txt"), "utf8").trim();
  const chain = readFileSync(path.join(FIXTURES, "hopperCertChain.txt"), "utf8");
  return [
    ...hgx.map((gpu) => ({
      evidence: { evidence: gpu.evidence, certificate: gpu.certificate },
      nonce: gpu.nonce,
    })),
    {
      evidence: {
        evidence: toBase64(fromHex(report)),
        certificate: toBase64(new TextEncoder().encode(chain)),
      },
      nonce: report.slice(8, 72),
    },
  ];
}

export async function attestationVerifierCost(baselineP50Ms: number, rounds = 20): Promise<void> {
  const reports = realEvidence();
  const times: number[] = [];
  let attested = 0;
  for (let round = 0; round < rounds + 2; round++) {
    for (const { evidence, nonce } of reports) {
      const started = performance.now();
      const verdict = await verifyGpuAttestation({
        evidence,
        nonce,
        claimedModel: "H100-SXM",
        now: Date.now(),
      });
      // Two warm-up rounds for the JIT, as the other parts leave theirs out.
      if (round < 2) continue;
      times.push(performance.now() - started);
      if (verdict.status === "attested") attested++;
    }
  }
  times.sort((a, b) => a - b);
  const at = (p: number) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))] ?? 0;
  const p50 = at(50);
  console.log(
    `| GH100 (9 real reports) | ${p50.toFixed(2)} ms | ${at(99).toFixed(2)} ms | ${times.length} | ${attested} of ${times.length} attested | ${(p50 / baselineP50Ms).toFixed(3)}× (H100-SXM compute phase p50 ${baselineP50Ms.toFixed(1)} ms) |`,
  );
}
