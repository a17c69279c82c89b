import { asc, eq, inArray } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import {
  type AttemptRefundRow,
  attemptRefunds,
  type ChargeDisputeRow,
  chargeDisputes,
} from "../../schema/disputes.js";
import { ledgerSettlements } from "../../schema/ledger.js";
import { jobAttempts } from "../../schema/tables.js";
import { DISPUTE_WINDOW_MS } from "../ledger/disputes.js";
import type { AttemptView, DisputeView, RefundView } from "../shared/dispute-api.js";
import { formatUsd } from "../shared/money.js";

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function refundView(row: AttemptRefundRow): RefundView {
  return {
    cause: row.cause,
    refunded: formatUsd(row.refundedMicros),
    refundedMicros: row.refundedMicros,
    unrecoveredMicros: row.unrecoveredMicros,
    at: new Date(row.createdAt).toISOString(),
  };
}

export function disputeView(row: ChargeDisputeRow, refund: AttemptRefundRow | undefined): DisputeView {
  return {
    id: row.id,
    jobId: row.jobId,
    attemptId: row.attemptId,
    nodeId: row.nodeId,
    state: row.state,
    reason: row.reason,
    resolution: row.resolution,
    decidedBy: row.decidedBy,
    createdAt: new Date(row.createdAt).toISOString(),
    decidedAt: iso(row.decidedAt),
    refund: refund ? refundView(refund) : null,
  };
}

/** Disputes with their refunds, in one more query. */
export async function disputeViews(db: DrizzleD1Database, rows: ChargeDisputeRow[]): Promise<DisputeView[]> {
  const ids = rows.map((row) => row.attemptId);
  const refunds =
    ids.length === 0
      ? []
      : await db.select().from(attemptRefunds).where(inArray(attemptRefunds.attemptId, ids)).all();
  const byAttempt = new Map(refunds.map((refund) => [refund.attemptId, refund]));
  return rows.map((row) => disputeView(row, byAttempt.get(row.attemptId)));
}

/** A job's attempts in the order they were placed, each with its charge, refund and dispute. */
export async function attemptViews(db: DrizzleD1Database, jobId: string): Promise<AttemptView[]> {
  const [attempts, settlements, refunds, disputes] = await Promise.all([
    db
      .select()
      .from(jobAttempts)
      .where(eq(jobAttempts.jobId, jobId))
      .orderBy(asc(jobAttempts.assignedAt))
      .all(),
    db.select().from(ledgerSettlements).where(eq(ledgerSettlements.jobId, jobId)).all(),
    db.select().from(attemptRefunds).where(eq(attemptRefunds.jobId, jobId)).all(),
    db.select().from(chargeDisputes).where(eq(chargeDisputes.jobId, jobId)).all(),
  ]);
  const settlementOf = new Map(settlements.map((row) => [row.attemptId, row]));
  const refundOf = new Map(refunds.map((row) => [row.attemptId, row]));
  const disputeOf = new Map(disputes.map((row) => [row.attemptId, row]));
  return attempts.map((attempt) => {
    const settlement = settlementOf.get(attempt.id);
    const refund = refundOf.get(attempt.id);
    const dispute = disputeOf.get(attempt.id);
    return {
      id: attempt.id,
      nodeId: attempt.nodeId,
      fencing: attempt.fencing,
      gpuUuids: Array.isArray(attempt.gpuUuids) ? attempt.gpuUuids.map(String) : [],
      assignedAt: new Date(attempt.assignedAt).toISOString(),
      startedAt: iso(attempt.startedAt),
      endedAt: iso(attempt.endedAt),
      exitCode: attempt.exitCode,
      outcome: attempt.outcome,
      containerId: attempt.containerId,
      imageDigest: attempt.imageDigest,
      errorKind: attempt.errorKind,
      charge: settlement
        ? {
            billingMode: settlement.billingMode,
            billableSeconds: settlement.billableSeconds,
            charged: formatUsd(settlement.chargedMicros),
            chargedMicros: settlement.chargedMicros,
          }
        : null,
      refund: refund ? refundView(refund) : null,
      dispute: dispute ? { id: dispute.id, state: dispute.state } : null,
      disputableUntil:
        attempt.endedAt === null ? null : new Date(attempt.endedAt + DISPUTE_WINDOW_MS).toISOString(),
    };
  });
}
