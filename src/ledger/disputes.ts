import { and, desc, eq, sql } from "drizzle-orm";
import { type ChargeDisputeRow, chargeDisputes, type DisputeState } from "../../schema/disputes.js";
import { ledgerSettlements } from "../../schema/ledger.js";
import { jobAttempts, jobs } from "../../schema/tables.js";
import { MeridianError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { faultOf } from "./fault-evidence.js";
import { type LedgerDb, runBatch } from "./ledger-db.js";
import { refundOf, refundStatements } from "./refund.js";

/** How long after an attempt ended its charge may be disputed. */
export const DISPUTE_WINDOW_MS = 7 * 86_400_000;

export interface DisputeFiling {
  accountId: string;
  jobId: string;
  attemptId: string;
  reason: string;
}

/** The attempt of one of the account's jobs, with its settlement; 404 for anyone else's. */
async function ownAttempt(db: LedgerDb, filing: Omit<DisputeFiling, "reason">) {
  const row = await db
    .select({
      attemptId: jobAttempts.id,
      nodeId: jobAttempts.nodeId,
      endedAt: jobAttempts.endedAt,
      chargedMicros: ledgerSettlements.chargedMicros,
    })
    .from(jobAttempts)
    .innerJoin(jobs, eq(jobs.id, jobAttempts.jobId))
    .leftJoin(ledgerSettlements, eq(ledgerSettlements.attemptId, jobAttempts.id))
    .where(
      and(
        eq(jobAttempts.id, filing.attemptId),
        eq(jobAttempts.jobId, filing.jobId),
        eq(jobs.accountId, filing.accountId),
      ),
    )
    .get();
  if (!row) {
    throw new MeridianError(
      404,
      "attempt_not_found",
      `job ${filing.jobId} has no attempt ${filing.attemptId}`,
    );
  }
  return row;
}

export async function disputeOfAttempt(
  db: LedgerDb,
  attemptId: string,
): Promise<ChargeDisputeRow | undefined> {
  return db.select().from(chargeDisputes).where(eq(chargeDisputes.attemptId, attemptId)).get();
}

/**
 * Files a dispute of an attempt's charge. Refused (nothing stored) when the attempt is not the
 * caller's (404), has not been settled yet, was already disputed or refunded, charged nothing, or
 * ended more than `DISPUTE_WINDOW_MS` ago (409 each, with its own code). Where the evidence
 * already shows the node at fault (fault-evidence.ts), the charge is refunded in the same batch and
 * the dispute is born decided; otherwise it waits, open, for the operator.
 */
export async function fileDispute(
  db: LedgerDb,
  filing: DisputeFiling,
  now = Date.now(),
): Promise<ChargeDisputeRow> {
  const attempt = await ownAttempt(db, filing);
  if (attempt.chargedMicros === null || attempt.endedAt === null) {
    throw new MeridianError(409, "attempt_not_settled", "the attempt has not ended and been charged yet");
  }
  const existing = await disputeOfAttempt(db, filing.attemptId);
  if (existing) {
    throw new MeridianError(409, "already_disputed", "this attempt's charge is already disputed", {
      disputeId: existing.id,
      state: existing.state,
    });
  }
  if (now > attempt.endedAt + DISPUTE_WINDOW_MS) {
    throw new MeridianError(
      409,
      "dispute_window_closed",
      "charges can be disputed for 7 days after the attempt ended",
      {
        endedAt: new Date(attempt.endedAt).toISOString(),
        closedAt: new Date(attempt.endedAt + DISPUTE_WINDOW_MS).toISOString(),
      },
    );
  }
  if (attempt.chargedMicros === 0) {
    throw new MeridianError(
      409,
      "nothing_charged",
      "the attempt was not charged; there is nothing to dispute",
    );
  }
  if (await refundOf(db, filing.attemptId)) {
    throw new MeridianError(409, "already_refunded", "the attempt's charge was already refunded");
  }
  const cause = await faultOf(db, filing.attemptId);
  const id = newId("dsp", now);
  await runBatch(db, [
    db
      .insert(chargeDisputes)
      .values({
        id,
        attemptId: filing.attemptId,
        jobId: filing.jobId,
        accountId: filing.accountId,
        nodeId: attempt.nodeId,
        reason: filing.reason,
        state: cause ? "refunded" : "open",
        resolution: cause,
        decidedBy: cause ? "rule" : null,
        createdAt: now,
        decidedAt: cause ? now : null,
      })
      // Two filings at once: the attempt's unique key keeps the first; the second is told below.
      .onConflictDoNothing(),
    ...(cause
      ? refundStatements(
          db,
          { attemptId: filing.attemptId, cause, disputeId: id, onlyIf: disputeIs(id, "refunded") },
          now,
        )
      : []),
  ]);
  const stored = await disputeOfAttempt(db, filing.attemptId);
  if (!stored) throw new Error(`dispute ${id} missing after its batch committed`);
  if (stored.id !== id) {
    throw new MeridianError(409, "already_disputed", "this attempt's charge is already disputed", {
      disputeId: stored.id,
      state: stored.state,
    });
  }
  return stored;
}

function disputeIs(id: string, state: DisputeState) {
  return sql`EXISTS (SELECT 1 FROM charge_disputes WHERE id = ${id} AND state = ${state})`;
}

export interface DisputeDecision {
  decision: "refund" | "reject";
  note: string;
}

/**
 * The operator decides an open dispute: a refund reverses the charge (in the batch that marks
 * the dispute refunded, and only if that mark was this call's), a rejection closes it. A dispute
 * already decided is refused with 409 and left as it was.
 */
export async function decideDispute(
  db: LedgerDb,
  disputeId: string,
  decision: DisputeDecision,
  now = Date.now(),
): Promise<ChargeDisputeRow> {
  const dispute = await db.select().from(chargeDisputes).where(eq(chargeDisputes.id, disputeId)).get();
  if (!dispute) throw new MeridianError(404, "dispute_not_found", `no dispute ${disputeId.slice(0, 64)}`);
  if (dispute.state !== "open") {
    throw new MeridianError(409, "dispute_decided", `the dispute was already decided: ${dispute.state}`, {
      state: dispute.state,
    });
  }
  const state: DisputeState = decision.decision === "refund" ? "refunded" : "rejected";
  await runBatch(db, [
    db
      .update(chargeDisputes)
      .set({ state, resolution: decision.note, decidedBy: "operator", decidedAt: now })
      .where(and(eq(chargeDisputes.id, disputeId), eq(chargeDisputes.state, "open"))),
    ...(state === "refunded"
      ? refundStatements(
          db,
          {
            attemptId: dispute.attemptId,
            cause: "operator_decision",
            disputeId,
            onlyIf: sql`EXISTS (SELECT 1 FROM charge_disputes WHERE id = ${disputeId} AND state = 'refunded' AND decided_at = ${now})`,
          },
          now,
        )
      : []),
  ]);
  const stored = await db.select().from(chargeDisputes).where(eq(chargeDisputes.id, disputeId)).get();
  if (!stored) throw new Error(`dispute ${disputeId} missing after its decision`);
  if (stored.decidedAt !== now || stored.state !== state) {
    throw new MeridianError(409, "dispute_decided", `the dispute was already decided: ${stored.state}`, {
      state: stored.state,
    });
  }
  return stored;
}

/** Disputes, newest first: the operator's queue (by state) or one account's own. */
export async function listDisputes(
  db: LedgerDb,
  filter: { state?: DisputeState; accountId?: string },
  limit = 100,
): Promise<ChargeDisputeRow[]> {
  const conditions = [
    filter.state ? eq(chargeDisputes.state, filter.state) : undefined,
    filter.accountId ? eq(chargeDisputes.accountId, filter.accountId) : undefined,
  ].filter((c) => c !== undefined);
  return db
    .select()
    .from(chargeDisputes)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(chargeDisputes.createdAt))
    .limit(limit)
    .all();
}
