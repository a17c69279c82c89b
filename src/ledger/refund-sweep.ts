import { and, eq } from "drizzle-orm";
import { chargeDisputes } from "../../schema/disputes.js";
import { refundableFailures } from "./fault-evidence.js";
import { type LedgerDb, runBatch } from "./ledger-db.js";
import { refundStatements } from "./refund.js";

export interface SweptRefund {
  attemptId: string;
  nodeId: string;
}

/**
 * Refunds, without anyone asking, the charged early failures that a later success of the same
 * spec on another node shows were their node's fault, and closes any open dispute of them as
 * refunded. Idempotent (each refund is once per attempt); returns what it refunded this time, so
 * the caller can tell the nodes' regions.
 */
export async function sweepFaultRefunds(db: LedgerDb, now = Date.now(), limit = 100): Promise<SweptRefund[]> {
  const found = await refundableFailures(db, now, limit);
  for (const { attemptId } of found) {
    await runBatch(db, [
      ...refundStatements(db, { attemptId, cause: "same_spec_succeeded_elsewhere" }, now),
      db
        .update(chargeDisputes)
        .set({
          state: "refunded",
          resolution: "same_spec_succeeded_elsewhere",
          decidedBy: "rule",
          decidedAt: now,
        })
        .where(and(eq(chargeDisputes.attemptId, attemptId), eq(chargeDisputes.state, "open"))),
    ]);
  }
  return found;
}
