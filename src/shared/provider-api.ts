import { z } from "zod";
import { GpuSample, NodeMetrics } from "./agent-protocol.js";
import { NodeView } from "./api.js";
import { JobStatus } from "./job-status.js";
import { AttestationVerdict } from "./verification/attestation/attestation-messages.js";
import { JudgementReason, VerificationJudgement } from "./verification/messages.js";

/** Response bodies of the provider and operator API: a node's standing, health and metrics. */

const Rate = z.number().nullable();

export const ReputationView = z.object({
  nodeId: z.string(),
  /** 0..1; a node without history starts at 0.5. */
  score: z.number(),
  /** 0..1: how much evidence stands behind the score. */
  confidence: z.number(),
  /** The raw parts of the score; null where there is no evidence yet. */
  components: z.object({
    uptime: Rate,
    successRate: Rate,
    ackLatencyMs: Rate,
    verification: Rate,
  }),
  status: z.enum(["active", "quarantined", "expelled"]),
  /** End of the quarantine, when quarantined. */
  until: z.string().nullable(),
  reason: z.string().optional(),
  totals: z.record(z.string(), z.number()),
});
export type ReputationView = z.infer<typeof ReputationView>;

export const NodeHealthView = z.object({
  hot: z.boolean(),
  gpuErrors: z.boolean(),
  /** What to tell the provider, one line each. */
  notices: z.array(z.string()),
});

const Outcome = z.enum(["unverified", "pending", "verified", "suspect", "rejected"]);

export const VerificationStatusView = z.object({
  nodeId: z.string(),
  outcome: Outcome,
  /**
   * What a verified node rests on: "attested" (every GPU's device attestation held, beyond timing)
   * or "timing" (timing-verified, not attested: docs/VERIFICATION.md says what that can and cannot
   * tell); null when not verified.
   */
  assurance: z.enum(["attested", "timing"]).nullable(),
  gpus: z.array(
    z.object({
      uuid: z.string(),
      model: z.string().nullable(),
      outcome: Outcome,
      /** A challenge for this GPU is out now. */
      open: z.boolean(),
      tflops: z.number().nullable(),
      bandwidthGBps: z.number().nullable(),
      /** The VRAM its memory phase proved, MiB (null before one). */
      provenVramMib: z.number().nullable(),
      /** The catalogue part its measurements matched: what it is listed and priced as. */
      listedAs: z.string().nullable(),
      /** Whether its part can attest at all (H100 and H200 in confidential-computing mode). */
      canAttest: z.boolean(),
      /** Its last challenge's attestation verdict; null when none was sent. */
      attestation: AttestationVerdict.nullable(),
      /** The verifier's findings: why a GPU is suspect or rejected (the transcript's verdict). */
      reasons: z.array(JudgementReason),
      lastVerifiedAt: z.number().nullable(),
      nextChallengeAt: z.number().nullable(),
    }),
  ),
  lastVerifiedAt: z.number().nullable(),
  nextChallengeAt: z.number().nullable(),
});

/** GET /v1/provider/nodes/:id */
export const ProviderNodeView = z.object({
  node: NodeView,
  status: NodeView.shape.status,
  /** Null for a CPU node, which has nothing to prove. */
  verification: VerificationStatusView.nullable(),
  reputation: ReputationView,
  health: NodeHealthView.extend({ penalty: z.number() }),
  jobs: z.array(z.object({ jobId: z.string(), attemptId: z.string(), status: JobStatus })),
});
export type ProviderNodeView = z.infer<typeof ProviderNodeView>;

/** GET /v1/nodes/:id/metrics: the node's recent samples, oldest first, and its health. */
export const NodeMetricsView = z.object({
  nodeId: z.string(),
  health: NodeHealthView,
  series: z.array(NodeMetrics.extend({ at: z.string(), gpus: z.array(GpuSample) })),
});
export type NodeMetricsView = z.infer<typeof NodeMetricsView>;

/** POST /v1/agent/challenges/:id/answer: the verifier's verdict. */
export const ChallengeVerdictView = z.object({
  outcome: VerificationJudgement.shape.outcome,
  judgement: VerificationJudgement,
});
