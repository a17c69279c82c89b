import { and, eq, isNull } from "drizzle-orm";
import { chargeDisputes } from "../../schema/disputes.js";
import { jobAttempts } from "../../schema/tables.js";
import { type NodeFault, nodeFaults } from "./fault-evidence.js";
import type { LedgerDb } from "./ledger-db.js";
import { refundStatements } from "./refund.js";

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
