import { attestedChipOf } from "../../shared/verification/attestation/attestable-parts.js";
import type { AttestationVerdict } from "../../shared/verification/attestation/attestation-messages.js";
import type { JudgementReason } from "../../shared/verification/messages.js";
import {
  type GpuOutcome,
  isOpen,
  type NodeOutcome,
  type NodeVerification,
  nodeOutcome,
} from "./node-verification.js";

/** What the provider and the inventory see of a node's verification. */
export interface VerificationStatus {
  nodeId: string;
  outcome: NodeOutcome;
  /**
   * What a verified node's standing rests on: `attested` when every GPU's last challenge also
   * brought device attestation that held; `timing` when it rests on timing alone (a part that
   * cannot attest, or a host that sent no report): timing-verified, not attested. Null when the node
   * is not verified.
   */
  assurance: "attested" | "timing" | null;
  gpus: {
    uuid: string;
    model: string | null;
    outcome: GpuOutcome;
    /** A challenge for this GPU is out now. */
    open: boolean;
    /** What the verifier timed (release → commit on its clock), never what the agent reported. */
    tflops: number | null;
    bandwidthGBps: number | null;
    /** The VRAM its last memory phase proved, MiB. */
    provenVramMib: number | null;
    /** The part its measurements matched, listed and priced as (null: none, or not yet judged). */
    listedAs: string | null;
    /** Whether its claimed part can attest at all (attestation/attestable-parts.ts). */
    canAttest: boolean;
    /** Its last challenge's attestation verdict; null when it brought no evidence. */
    attestation: AttestationVerdict | null;
    reasons: JudgementReason[];
    lastVerifiedAt: number | null;
    nextChallengeAt: number | null;
  }[];
  /** The most recent time any GPU was verified. */
  lastVerifiedAt: number | null;
  /** The soonest planned challenge of any GPU. */
  nextChallengeAt: number | null;
}

export function minOf(values: readonly (number | null | undefined)[]): number | null {
  let least: number | null = null;
  for (const value of values) if (value != null && (least === null || value < least)) least = value;
  return least;
}

function assuranceOf(node: NodeVerification, outcome: NodeOutcome): VerificationStatus["assurance"] {
  if (outcome !== "verified") return null;
  return node.gpus.every((gpu) => gpu.attestation?.status === "attested") ? "attested" : "timing";
}

export function statusOf(node: NodeVerification): VerificationStatus {
  const outcome = nodeOutcome(node);
  return {
    nodeId: node.nodeId,
    outcome,
    assurance: assuranceOf(node, outcome),
    gpus: node.gpus.map((gpu) => ({
      uuid: gpu.uuid,
      model: gpu.model,
      outcome: gpu.outcome,
      open: isOpen(gpu.challenge),
      tflops: gpu.measured?.tflops ?? null,
      bandwidthGBps: gpu.measured?.bandwidthGBps ?? null,
      provenVramMib: gpu.measured?.provenVramMib ?? null,
      listedAs: gpu.listedAs ?? null,
      canAttest: gpu.model !== null && attestedChipOf(gpu.model) !== undefined,
      attestation: gpu.attestation ?? null,
      reasons: gpu.reasons,
      lastVerifiedAt: gpu.lastVerifiedAt,
      nextChallengeAt: gpu.nextChallengeAt,
    })),
    lastVerifiedAt: node.gpus.reduce<number | null>(
      (latest, gpu) =>
        gpu.lastVerifiedAt !== null && (latest === null || gpu.lastVerifiedAt > latest)
          ? gpu.lastVerifiedAt
          : latest,
      null,
    ),
    nextChallengeAt: minOf(node.gpus.map((gpu) => gpu.nextChallengeAt)),
  };
}

/** What each GPU of a verified node is listed as, by uuid; undefined for a node not verified. */
export function listedModelsOf(node: NodeVerification | undefined): Map<string, string> | undefined {
  if (!node || nodeOutcome(node) !== "verified") return undefined;
  return new Map(node.gpus.flatMap((gpu) => (gpu.listedAs ? [[gpu.uuid, gpu.listedAs] as const] : [])));
}

/** Mean measured TFLOP/s per GPU of a verified node; undefined otherwise. */
export function verifiedTflopsOf(node: NodeVerification | undefined): number | undefined {
  if (!node || nodeOutcome(node) !== "verified") return undefined;
  const figures = node.gpus.flatMap((gpu) => (gpu.measured ? [gpu.measured.tflops] : []));
  if (figures.length === 0) return undefined;
  return figures.reduce((sum, tflops) => sum + tflops, 0) / figures.length;
}
