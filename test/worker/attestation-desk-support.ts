import type { DeviceClaim } from "../../src/durable/verification/attested-twins.js";
import type { NodeVerification } from "../../src/durable/verification/node-verification.js";
import { VerificationDesk } from "../../src/durable/verification-desk.js";
import type { GpuAttestationEvidence } from "../../src/shared/verification/attestation/attestation-messages.js";
import { fromHex, toBase64 } from "../../src/shared/verification/bytes.js";
import { computeProduct, openLeaves } from "../../src/shared/verification/cpu-benchmark.js";
import type { VerificationChallenge, VerificationJudgement } from "../../src/shared/verification/messages.js";
import sampleReport from "../fixtures/nvidia-attestation/hopperAttestationReport.txt?raw";
import sampleChain from "../fixtures/nvidia-attestation/hopperCertChain.txt?raw";
import {
  H100_VRAM_MIB,
  h100Figures,
  scaledMs,
  seededRandom,
  T0,
  testModels,
} from "../verification/support.js";

/**
 * An honest agent answering the verification desk in workerd (it computes the products on this
 * CPU, at a scaled H100's pace: test/verification/support.ts), with or without nvtrust's real
 * GH100 report. The region's nonce is set to the one that report carries: the one thing a test
 * must fix, since the report was captured once.
 */

export const SAMPLE_NONCE = "931d8dd0add203ac3d8b4fbde75e115278eefcdceac5b87671a748f32364dfcb";
export const EVIDENCE: GpuAttestationEvidence = {
  evidence: toBase64(fromHex(sampleReport.trim())),
  certificate: toBase64(new TextEncoder().encode(sampleChain)),
};
export const OPTIONS = { size: { n: 64, blocks: 2 }, memory: null, models: testModels } as const;

/** A desk with each node's GPU challenged; the nonce issued replaced by `nonce` unless null. */
export function deskWith(gpus: Record<string, string>, nonce: string | null = SAMPLE_NONCE, seed = 3) {
  let desk = new VerificationDesk({ ...OPTIONS, random: seededRandom(seed) });
  for (const [nodeId, model] of Object.entries(gpus)) {
    desk.onRegistered(
      { id: nodeId, hardware: { gpus: [{ uuid: `GPU-${nodeId}`, model, vramMib: H100_VRAM_MIB }] } },
      T0,
    );
    desk.challengesFor(nodeId, T0);
  }
  if (nonce !== null) {
    const stored: Record<string, NodeVerification> = desk.toJSON();
    for (const node of Object.values(stored)) {
      const challenge = node.gpus[0]?.challenge?.challenge;
      if (challenge?.attestationNonce) challenge.attestationNonce = nonce;
    }
    desk = VerificationDesk.from(stored, { ...OPTIONS, random: seededRandom(seed + 1) });
  }
  return desk;
}

export function challengeOf(desk: VerificationDesk, nodeId: string): VerificationChallenge {
  const challenge = desk.toJSON()[nodeId]?.gpus[0]?.challenge?.challenge;
  if (!challenge) throw new Error(`no challenge for ${nodeId}`);
  return challenge;
}

/** The honest agent's whole exchange; `attestation` is what its answer carries. */
export async function answerHonestly(
  desk: VerificationDesk,
  nodeId: string,
  attestation: GpuAttestationEvidence | undefined,
  start = T0 + 2_000,
  claim?: DeviceClaim,
): Promise<VerificationJudgement> {
  const challenge = challengeOf(desk, nodeId);
  const release = desk.ready(nodeId, challenge.id, { challengeId: challenge.id }, start);
  const product = await computeProduct(challenge, release.seed);
  const commitAt = release.releasedAt + scaledMs(challenge, 790) * 1.02;
  const request = desk.commit(
    nodeId,
    challenge.id,
    {
      challengeId: challenge.id,
      root: product.root,
      measured: h100Figures(challenge),
      runner: { mode: "host-process", backend: "test", device: "NVIDIA H100 80GB HBM3" },
    },
    commitAt,
  );
  const answer = openLeaves(product, request);
  return desk.answer(
    nodeId,
    challenge.id,
    { ...answer, ...(attestation ? { attestation } : {}) },
    commitAt + 1_000,
    claim,
  );
}
