import { type SQL, sql } from "drizzle-orm";
import type { UsageGroupBy } from "../shared/ledger-api.js";
import type { LedgerDb } from "./ledger-db.js";

export interface UsageTotals {
  key: string;
  attempts: number;
  billableSeconds: number;
  chargedMicros: number;
}

const KEYS: Record<UsageGroupBy, SQL> = {
  job: sql`job_id`,
  day: sql`strftime('%Y-%m-%d', ended_at / 1000, 'unixepoch')`,
  gpuModel: sql`coalesce(gpu_model, 'unknown')`,
};

/**
 * What an account was charged for attempts that ended in [from, to), from the settlement rows
 * net of any refund (lost attempts appear with 0 charged). Days are UTC.
 */
export async function usageReport(
  db: LedgerDb,
  accountId: string,
  range: { from: number; to: number; groupBy: UsageGroupBy },
): Promise<UsageTotals[]> {
  const key = KEYS[range.groupBy];
  const rows = await db.all<{ key: string; attempts: number; seconds: number; charged: number }>(sql`
    SELECT ${key} AS key, count(*) AS attempts, sum(billable_seconds) AS seconds,
      sum(charged_micros - coalesce((SELECT r.refunded_micros FROM attempt_refunds AS r
                                     WHERE r.attempt_id = ledger_settlements.attempt_id), 0)) AS charged
    FROM ledger_settlements
    WHERE account_id = ${accountId} AND ended_at >= ${range.from} AND ended_at < ${range.to}
    GROUP BY 1 ORDER BY 1`);
  return rows.map((row) => ({
    key: String(row.key),
    attempts: Number(row.attempts),
    billableSeconds: Number(row.seconds),
    chargedMicros: Number(row.charged),
  }));
}
