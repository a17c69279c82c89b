import { and, eq, isNull } from "drizzle-orm";
import { chargeDisputes } from "../../schema/disputes.js";
import { jobAttempts } from "../../schema/tables.js";
import { type NodeFault, nodeFaults, unprovenRuns } from "./fault-evidence.js";
import { type LedgerDb, runBatch } from "./ledger-db.js";
import { refundOf, refundStatements } from "./refund.js";

/**
 * Finds, without anyone asking, the failed attempts the evidence shows were their node's fault
 * (fault-evidence.ts: an early failure of a spec another node then ran, a pull failure out of line
 * with other nodes' pulls of the image), refunds what each charged, closes any open dispute of it
 * as refunded, and marks it counted. Idempotent (each attempt once, even under two concurrent
 * sweeps: only the sweep whose mark lands reports it); returns what it found this time, so the
 * caller can count each against its node in the node's region.
 */
export async function sweepFaultRefunds(db: LedgerDb, now = Date.now(), limit = 100): Promise<NodeFault[]> {
  const found = await nodeFaults(db, now, limit);
  const counted: NodeFault[] = [];
  for (const fault of found) {
    const [marked] = await db.batch([
      db
        .update(jobAttempts)
        .set({ faultFoundAt: now })
        .where(and(eq(jobAttempts.id, fault.attemptId), isNull(jobAttempts.faultFoundAt)))
        .returning({ id: jobAttempts.id }),
      ...refundStatements(db, { attemptId: fault.attemptId, cause: fault.cause }, now),
      db
        .update(chargeDisputes)
        .set({ state: "refunded", resolution: fault.cause, decidedBy: "rule", decidedAt: now })
        .where(and(eq(chargeDisputes.attemptId, fault.attemptId), eq(chargeDisputes.state, "open"))),
    ]);
    if (marked.length > 0) counted.push(fault);
  }
  return counted;
}

/**
 * Refunds, without anyone asking, every charged attempt that ran unproven on a node a rejected
 * verification then proved false (fault-evidence.ts), whatever its outcome, and closes any open
 * dispute of it as refunded. Not counted against the node again: the rejection already took it
 * off the market and ordered its slash. Idempotent (a charge is refunded once: the refund row's
 * key); returns the attempts it refunded this time.
 */
export async function sweepUnprovenRefunds(db: LedgerDb, now = Date.now(), limit = 100): Promise<string[]> {
  const refunded: string[] = [];
  for (const attemptId of await unprovenRuns(db, now, limit)) {
    const cause = "node_failed_verification";
    await runBatch(db, [
      ...refundStatements(db, { attemptId, cause }, now),
      db
        .update(chargeDisputes)
        .set({ state: "refunded", resolution: cause, decidedBy: "rule", decidedAt: now })
        .where(and(eq(chargeDisputes.attemptId, attemptId), eq(chargeDisputes.state, "open"))),
    ]);
    if ((await refundOf(db, attemptId))?.cause === cause) refunded.push(attemptId);
  }
  return refunded;
}
