import { sql } from "drizzle-orm";
import { CPU_PRICES } from "../shared/cpu-pricing.js";
import type { LedgerDb } from "./ledger-db.js";

/** What an account's limits are measured against, at one moment. */
export interface AccountSpend {
  /** Charged by attempts that ended this calendar month (UTC). */
  spentThisMonthMicros: number;
  /** Still reserved by its jobs' holds (released holds are 0). */
  heldMicros: number;
  /**
   * The hourly rate of its queued, assigned and running jobs, each as its hold counts it: a GPU
   * job's price cap × GPUs, a CPU-only job's vCPUs at its vCPU-hour cap plus its memory at the
   * table's GiB-hour rate; × nodes.
   */
  spendPerHourMicros: number;
}

/** Midnight UTC on the first of `at`'s month, in ms. */
export function monthStart(at: number): number {
  const date = new Date(at);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

/** `YYYY-MM` of `at`, UTC: the period a monthly event is recorded once for. */
export function monthOf(at: number): string {
  return new Date(at).toISOString().slice(0, 7);
}

/**
 * One active job's hourly rate from its stored spec, as `cpuHourMicros` and the hold compute it (a
 * thousandth first, then up to a whole µUSD): the sum migration 0032's spend-rate guard repeats.
 */
const jobRate = sql.raw(`(CASE WHEN coalesce(json_extract(spec, '$.resources.gpus'), 0) > 0
    THEN coalesce(json_extract(spec, '$.maxPricePerGpuHour'), 0) * json_extract(spec, '$.resources.gpus')
    ELSE (SELECT CAST(c AS INTEGER) + (c > CAST(c AS INTEGER)) FROM (SELECT round(
      coalesce(json_extract(spec, '$.resources.cpus'), 1)
        * coalesce(json_extract(spec, '$.maxPricePerVcpuHour'), ${CPU_PRICES.vcpuHourMicros})
      + coalesce(json_extract(spec, '$.resources.memoryGb'), 1) * ${CPU_PRICES.gbHourMicros}, 3) AS c))
  END * coalesce(json_extract(spec, '$.nodes'), 1))`);

/**
 * The same sums the guard triggers of migrations 0005 and 0032 compute, read in one query. D1 answers the
 * job sums from the jobs' stored specs, so a job counts as active until its end reaches D1.
 */
export async function accountSpend(db: LedgerDb, accountId: string, at = Date.now()): Promise<AccountSpend> {
  const row = await db.get<{ spent: number; held: number; rate: number }>(sql`
    SELECT
      (SELECT coalesce(sum(charged_micros), 0) FROM ledger_settlements
        WHERE account_id = ${accountId} AND ended_at >= ${monthStart(at)}) AS spent,
      (SELECT coalesce(sum(balance_micros), 0) FROM ledger_accounts
        WHERE account_id = ${accountId} AND kind = 'hold') AS held,
      (SELECT coalesce(sum(${jobRate}), 0)
        FROM jobs WHERE account_id = ${accountId} AND status IN ('queued', 'assigned', 'running')) AS rate`);
  return {
    spentThisMonthMicros: Number(row?.spent ?? 0),
    heldMicros: Number(row?.held ?? 0),
    spendPerHourMicros: Number(row?.rate ?? 0),
  };
}
