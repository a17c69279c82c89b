import { and, eq, inArray, sql } from "drizzle-orm";
import { attemptRefunds } from "../../schema/disputes.js";
import { ledgerAccounts, ledgerSettlements, ledgerTransfers } from "../../schema/ledger.js";
import type { LedgerDb } from "./ledger-db.js";

export interface JobCost {
  /** What the job's attempts (and a paused job's kept storage) have been charged so far. */
  chargedMicros: number;
  /** What is still reserved for it (0 once it ended and the rest went back). */
  heldMicros: number;
}

/** What each of these jobs has cost and still holds; a job with no money movement costs 0. */
export async function jobCosts(db: LedgerDb, jobIds: readonly string[]): Promise<Map<string, JobCost>> {
  const costs = new Map<string, JobCost>(jobIds.map((id) => [id, { chargedMicros: 0, heldMicros: 0 }]));
  if (jobIds.length === 0) return costs;
  const [charged, held, stored, refunded] = await Promise.all([
    db
      .select({
        jobId: ledgerSettlements.jobId,
        micros: sql<number>`SUM(${ledgerSettlements.chargedMicros})`,
      })
      .from(ledgerSettlements)
      .where(inArray(ledgerSettlements.jobId, [...jobIds]))
      .groupBy(ledgerSettlements.jobId)
      .all(),
    db
      .select({ jobId: ledgerAccounts.ownerId, micros: ledgerAccounts.balanceMicros })
      .from(ledgerAccounts)
      .where(
        inArray(
          ledgerAccounts.id,
          jobIds.map((id) => `hold:${id}`),
        ),
      )
      .all(),
    db
      .select({ jobId: ledgerTransfers.jobId, micros: sql<number>`SUM(${ledgerTransfers.amountMicros})` })
      .from(ledgerTransfers)
      .where(and(inArray(ledgerTransfers.jobId, [...jobIds]), eq(ledgerTransfers.kind, "storage")))
      .groupBy(ledgerTransfers.jobId)
      .all(),
    // Charges given back because the node was at fault (refund.ts) are not the job's cost.
    db
      .select({ jobId: attemptRefunds.jobId, micros: sql<number>`SUM(${attemptRefunds.refundedMicros})` })
      .from(attemptRefunds)
      .where(inArray(attemptRefunds.jobId, [...jobIds]))
      .groupBy(attemptRefunds.jobId)
      .all(),
  ]);
  for (const row of refunded) {
    const cost = costs.get(row.jobId);
    if (cost) cost.chargedMicros -= Number(row.micros);
  }
  for (const row of stored) {
    const cost = row.jobId === null ? undefined : costs.get(row.jobId);
    if (cost) cost.chargedMicros += Number(row.micros);
  }
  for (const row of charged) {
    const cost = costs.get(row.jobId);
    if (cost) cost.chargedMicros += Number(row.micros);
  }
  for (const row of held) {
    const cost = row.jobId === null ? undefined : costs.get(row.jobId);
    if (cost) cost.heldMicros = row.micros;
  }
  return costs;
}
