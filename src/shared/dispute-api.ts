import { z } from "zod";

/** POST /v1/jobs/:id/attempts/:attempt/dispute */
export const DisputeBody = z
  .object({
    /** What the user saw go wrong: kept with the dispute for the operator. */
    reason: z.string().trim().min(1, "say why the charge is wrong").max(2000),
  })
  .strict();
export type DisputeBody = z.infer<typeof DisputeBody>;

export const DisputeStateName = z.enum(["open", "refunded", "rejected"]);

export const RefundView = z.object({
  cause: z.enum([
    "same_spec_succeeded_elsewhere",
    "image_pulled_elsewhere",
    "no_run_evidence",
    "operator_decision",
    "node_failed_verification",
  ]),
  refunded: z.string(),
  refundedMicros: z.number().int(),
  /** Charged but not recoverable (0 unless the ledger's accounts were emptied meanwhile). */
  unrecoveredMicros: z.number().int(),
  at: z.string(),
});
export type RefundView = z.infer<typeof RefundView>;

export const DisputeView = z.object({
  id: z.string(),
  jobId: z.string(),
  attemptId: z.string(),
  nodeId: z.string(),
  state: DisputeStateName,
  reason: z.string(),
  /** The refund rule that decided it, or the operator's note; null while open. */
  resolution: z.string().nullable(),
  decidedBy: z.enum(["rule", "operator"]).nullable(),
  createdAt: z.string(),
  decidedAt: z.string().nullable(),
  refund: RefundView.nullable(),
});
export type DisputeView = z.infer<typeof DisputeView>;

export const DisputeList = z.object({ disputes: z.array(DisputeView) });

/** GET /v1/operator/disputes?state=open */
export const DisputeListQuery = z.object({ state: DisputeStateName.optional() }).strict();

/** POST /v1/operator/disputes/:id/decision */
export const DisputeDecisionBody = z
  .object({
    decision: z.enum(["refund", "reject"]),
    note: z.string().trim().min(1, "say why").max(2000),
  })
  .strict();

/** One attempt of a job, as GET /v1/jobs/:id/attempts shows it: what ran, where, and what it cost. */
export const AttemptView = z.object({
  id: z.string(),
  nodeId: z.string(),
  fencing: z.number().int(),
  gpuUuids: z.array(z.string()),
  /** The region's own clock, never the agent's. */
  assignedAt: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  outcome: z.string().nullable(),
  /** The container the agent reported starting, and the content digest of the image it ran. */
  containerId: z.string().nullable(),
  imageDigest: z.string().nullable(),
  /**
   * With an error end, whose error the agent said it was (`image_pull`, `runtime`, `input`,
   * `spec`, …); null otherwise. A pull failure out of line with other nodes' pulls of the image is
   * counted against the node and refunded (`image_pulled_elsewhere`).
   */
  errorKind: z.string().nullable(),
  charge: z
    .object({
      billingMode: z.string(),
      billableSeconds: z.number().int(),
      charged: z.string(),
      chargedMicros: z.number().int(),
    })
    .nullable(),
  refund: RefundView.nullable(),
  dispute: z.object({ id: z.string(), state: DisputeStateName }).nullable(),
  /** Until when the charge may be disputed; null before the attempt ended. */
  disputableUntil: z.string().nullable(),
});
export type AttemptView = z.infer<typeof AttemptView>;

export const AttemptList = z.object({ attempts: z.array(AttemptView) });
