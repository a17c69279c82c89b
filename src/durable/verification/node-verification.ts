import type { AttestationVerdict } from "../../shared/verification/attestation/attestation-messages.js";
import type { ChallengeRecord } from "../../shared/verification/challenge-lifecycle.js";
import type { JudgementReason, VerificationOutcome } from "../../shared/verification/messages.js";

/** A GPU's standing: the last judgement, or `unverified` before its first one. */
export type GpuOutcome = "unverified" | VerificationOutcome;

/** A node's standing, from its GPUs' (see `nodeOutcome`). */
export type NodeOutcome = "unverified" | "pending" | VerificationOutcome;

/** One GPU under verification, as plain JSON. */
export interface GpuVerification {
  uuid: string;
  /** Catalogue model id; null for a part the catalogue does not know (it cannot be verified). */
  model: string | null;
  vramMib: number;
  outcome: GpuOutcome;
  reasons: JudgementReason[];
  /** Region-measured figures; provenVramMib once a memory phase proved it. */
  measured: { tflops: number; bandwidthGBps: number; provenVramMib?: number } | null;
  /**
   * The catalogue part the last judgement classified it as (part-classifier.ts): what it is
   * listed and priced as; null when none fitted. Absent before a judgement and in older records.
   */
  listedAs?: string | null;
  /**
   * Consecutive verified judgements as the same part (rechallenge-schedule.ts: a long clean
   * history is challenged less often). Absent in older records, read as 0.
   */
  cleanPasses?: number;
  /**
   * What the last judgement's attestation evidence showed; null when it brought none (the part
   * cannot attest, or the host sent no report). Absent before a judgement and in older records.
   */
  attestation?: AttestationVerdict | null;
  lastJudgedAt: number | null;
  lastVerifiedAt: number | null;
  /** When to challenge it next; null when nothing is planned (rejected, unknown part, or open). */
  nextChallengeAt: number | null;
  /** The open challenge, or the last judged one (kept so a replayed message is refused as such). */
  challenge: ChallengeRecord | null;
  /**
   * The round its challenge was issued in: the node's GPUs and their twins on other nodes are
   * issued together and released together (verification-desk.ts). Absent in older records.
   */
  round?: string;
}

/** One node's verification state: the GPU set it was verified with, and each GPU's standing. */
export interface NodeVerification {
  v: 1;
  nodeId: string;
  /**
   * The GPUs' uuid, model and VRAM, sorted: a different fingerprint at registration means
   * re-verify (so VRAM raised after a verification is verified again before it counts).
   */
  fingerprint: string;
  gpus: GpuVerification[];
}

export function isOpen(record: ChallengeRecord | null): boolean {
  return record !== null && record.state !== "judged";
}

export function fingerprintOf(
  gpus: readonly { uuid: string; model?: string | undefined; vramMib: number }[],
): string {
  return gpus
    .map((gpu) => `${gpu.uuid}=${gpu.model ?? "?"}/${gpu.vramMib}`)
    .sort()
    .join(",");
}

/**
 * The node's outcome: the worst judged GPU decides (rejected, then suspect); a node is verified
 * only when every GPU is; otherwise it is pending while a first challenge is out, else unverified.
 * A re-challenge of a verified GPU leaves it verified until judged.
 */
export function nodeOutcome(node: NodeVerification): NodeOutcome {
  const outcomes = node.gpus.map((gpu) => gpu.outcome);
  if (outcomes.includes("rejected")) return "rejected";
  if (outcomes.includes("suspect")) return "suspect";
  if (outcomes.length > 0 && outcomes.every((outcome) => outcome === "verified")) return "verified";
  const waiting = node.gpus.some((gpu) => gpu.outcome === "unverified" && isOpen(gpu.challenge));
  return waiting ? "pending" : "unverified";
}

/** A GPU as registered: unverified, due now when the catalogue knows its part. */
export function unverifiedGpu(
  gpu: { uuid: string; model?: string | undefined; vramMib: number },
  known: boolean,
  now: number,
): GpuVerification {
  return {
    uuid: gpu.uuid,
    model: known ? (gpu.model ?? null) : null,
    vramMib: gpu.vramMib,
    outcome: "unverified",
    reasons: known
      ? []
      : [{ code: "unknown_gpu_model", message: "the GPU catalogue does not know this part" }],
    measured: null,
    lastJudgedAt: null,
    lastVerifiedAt: null,
    nextChallengeAt: known ? now : null,
    challenge: null,
  };
}
