import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Charges a provider cannot fake (issue 14 item 5). An attempt's charge is given back, once, when
 * the evidence shows the node at fault — found by the refund sweep or by a user's dispute — and
 * the refund's transfers take their amounts from its row here, as settlement legs do from theirs.
 */

export const DISPUTE_STATES = ["open", "refunded", "rejected"] as const;
export type DisputeState = (typeof DISPUTE_STATES)[number];

/** Why a charge was given back. */
export const REFUND_CAUSES = [
  /** The same image and command succeeded on another node after this one failed it early. */
  "same_spec_succeeded_elsewhere",
  /** The node said the image could not be pulled while more other nodes pulled it than failed to. */
  "image_pulled_elsewhere",
  /** The agent never reported what it ran (no image digest): nothing shows the work was done. */
  "no_run_evidence",
  /** The operator upheld a user's dispute. */
  "operator_decision",
  /**
   * The node's verification was later rejected for a proven lie (a slash order): nothing it ran
   * since its last passed check had the hardware it claimed proven.
   */
  "node_failed_verification",
] as const;
export type RefundCause = (typeof REFUND_CAUSES)[number];

/** A user's dispute of one attempt's charge (POST /v1/jobs/:id/attempts/:attempt/dispute). */
export const chargeDisputes = sqliteTable(
  "charge_disputes",
  {
    id: text("id").primaryKey(),
    /** One dispute per attempt: a second is refused on this key. */
    attemptId: text("attempt_id").notNull().unique(),
    jobId: text("job_id").notNull(),
    accountId: text("account_id").notNull(),
    nodeId: text("node_id").notNull(),
    reason: text("reason").notNull(),
    state: text("state", { enum: DISPUTE_STATES }).notNull(),
    /** What decided it: a refund rule's name, or the operator's note. */
    resolution: text("resolution"),
    decidedBy: text("decided_by", { enum: ["rule", "operator"] }),
    createdAt: integer("created_at").notNull(),
    decidedAt: integer("decided_at"),
  },
  (t) => [
    index("charge_disputes_account").on(t.accountId, t.createdAt),
    index("charge_disputes_state").on(t.state, t.createdAt),
    check("charge_disputes_state", sql`${t.state} IN ('open','refunded','rejected')`),
  ],
);

/**
 * One row per refunded attempt, written in the batch of its transfers. Its primary key is the
 * attempt, so a charge is refunded at most once whatever path found the fault.
 */
export const attemptRefunds = sqliteTable(
  "attempt_refunds",
  {
    attemptId: text("attempt_id").primaryKey(),
    jobId: text("job_id").notNull(),
    accountId: text("account_id").notNull(),
    nodeId: text("node_id").notNull(),
    cause: text("cause", { enum: REFUND_CAUSES }).notNull(),
    disputeId: text("dispute_id"),
    /** Taken back from the node's unpaid earnings. */
    fromProviderMicros: integer("from_provider_micros").notNull(),
    /** From the platform's fees: its own fee, and what the node had already been paid out. */
    fromFeesMicros: integer("from_fees_micros").notNull(),
    /** From the burn reserve, while it still holds the attempt's burn share. */
    fromBurnMicros: integer("from_burn_micros").notNull(),
    /** What the user got back: the three legs together. */
    refundedMicros: integer("refunded_micros").notNull(),
    /** Charged but not recoverable (the accounts were emptied meanwhile); 0 in a healthy ledger. */
    unrecoveredMicros: integer("unrecovered_micros").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("attempt_refunds_account").on(t.accountId, t.createdAt),
    index("attempt_refunds_node").on(t.nodeId, t.createdAt),
  ],
);

export type ChargeDisputeRow = typeof chargeDisputes.$inferSelect;
export type AttemptRefundRow = typeof attemptRefunds.$inferSelect;
