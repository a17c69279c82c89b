import type { ChallengeRecord } from "../../shared/verification/challenge-lifecycle.js";
import { VerificationError } from "../../shared/verification/verification-error.js";
import type { GpuVerification, NodeVerification } from "./node-verification.js";

/** The node and GPU a challenge was issued to, and its record. */
export interface ChallengeHolder {
  owner: NodeVerification;
  gpu: GpuVerification;
  record: ChallengeRecord;
}

/**
 * The GPU holding this challenge, looked for on the sender's node first. A challenge held by
 * another node is found too, and refused by the lifecycle as someone else's (`challenge_not_yours`).
 */
export function findChallenge(
  nodes: ReadonlyMap<string, NodeVerification>,
  nodeId: string,
  challengeId: string,
): ChallengeHolder {
  const own = nodes.get(nodeId);
  const candidates = own ? [own, ...nodes.values()] : [...nodes.values()];
  for (const owner of candidates) {
    for (const gpu of owner.gpus) {
      if (gpu.challenge?.challenge.id === challengeId) return { owner, gpu, record: gpu.challenge };
    }
  }
  throw new VerificationError("challenge_mismatch", `no challenge ${challengeId} is open here`);
}
