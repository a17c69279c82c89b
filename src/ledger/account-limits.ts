import { eq } from "drizzle-orm";
import { accountLimits } from "../../schema/ledger.js";
import { MeridianError } from "../shared/errors.js";
import { formatUsd } from "../shared/money.js";
import { monthlyWarningStatement, reachesWarning } from "./account-events.js";
import { accountSpend } from "./account-spend.js";
import { type LedgerDb, type LedgerStatement, runBatch } from "./ledger-db.js";

export interface AccountLimits {
  monthlyCapMicros: number | null;
  maxSpendPerHourMicros: number | null;
}

const NO_LIMITS: AccountLimits = { monthlyCapMicros: null, maxSpendPerHourMicros: null };

export async function limitsOf(db: LedgerDb, accountId: string): Promise<AccountLimits> {
  return limitsFromRows(await limitsQuery(db, accountId));
}

/** The query `limitsOf` runs, to send in one D1 batch with other reads (then `limitsFromRows`). */
export function limitsQuery(db: LedgerDb, accountId: string) {
  return db.select().from(accountLimits).where(eq(accountLimits.accountId, accountId)).limit(1);
}

export function limitsFromRows(rows: (typeof accountLimits.$inferSelect)[]): AccountLimits {
  const [row] = rows;
  return row
    ? { monthlyCapMicros: row.monthlyCapMicros, maxSpendPerHourMicros: row.maxSpendPerHourMicros }
    : NO_LIMITS;
}

/**
 * Sets an account's limits (a field left out keeps its value, null removes the limit). Lowering the
 * cap to within the warning share of what is already spent and held records the month's warning in
 * the same batch. Limits only refuse new submissions: jobs already admitted keep their holds.
 */
export async function setLimits(
  db: LedgerDb,
  accountId: string,
  patch: Partial<AccountLimits>,
  at = Date.now(),
): Promise<AccountLimits> {
  const limits = { ...(await limitsOf(db, accountId)), ...patch };
  const statements: LedgerStatement[] = [
    db
      .insert(accountLimits)
      .values({ accountId, ...limits, updatedAt: at })
      .onConflictDoUpdate({ target: accountLimits.accountId, set: { ...limits, updatedAt: at } }),
  ];
  if (limits.monthlyCapMicros !== null) {
    const spend = await accountSpend(db, accountId, at);
    const usage = { capMicros: limits.monthlyCapMicros, ...spend };
    if (reachesWarning(usage)) statements.push(monthlyWarningStatement(db, accountId, usage, at));
  }
  await runBatch(db, statements);
  return limits;
}

export interface NewJobSpend {
  /** The new job's hold. */
  holdMicros: number;
  /** The new job's hourly rate: price cap × GPUs, or a CPU-only job's vCPUs and memory at its cap; × nodes. */
  spendPerHourMicros: number;
  at: number;
}

const usd = (micros: number) => formatUsd(micros);

/**
 * Refuses a submission its account's limits do not allow, before anything is written: 403
 * `monthly_cap_reached` when this month's charges plus every hold, the new one included, would
 * pass the monthly cap; 403 `spend_rate_limit` when the active jobs' hourly rates (`accountSpend`:
 * GPU price cap × GPUs, CPU-only jobs at their vCPU-hour cap), the new one included, would pass the max spend per hour. Otherwise returns the statements to join the
 * submit's batch: the month's warning once spent + held reaches 80% of the cap. Counting the new
 * hold makes the cap a guarantee: holds bound charges, so the month's charges can never pass it.
 */
export async function checkAccountLimits(
  db: LedgerDb,
  accountId: string,
  job: NewJobSpend,
  /** The account's limits when the caller read them already (`limitsQuery` in its own batch). */
  known?: AccountLimits,
): Promise<LedgerStatement[]> {
  const limits = known ?? (await limitsOf(db, accountId));
  if (limits.monthlyCapMicros === null && limits.maxSpendPerHourMicros === null) return [];
  const spend = await accountSpend(db, accountId, job.at);
  const cap = limits.monthlyCapMicros;
  if (cap !== null && spend.spentThisMonthMicros + spend.heldMicros + job.holdMicros > cap) {
    const committed = spend.spentThisMonthMicros + spend.heldMicros;
    throw new MeridianError(
      403,
      "monthly_cap_reached",
      `this job would hold ${usd(job.holdMicros)} USD; with ${usd(committed)} USD charged and held this month it passes the monthly cap of ${usd(cap)} USD`,
      {
        monthlyCap: usd(cap),
        monthlyCapMicros: cap,
        spentThisMonth: usd(spend.spentThisMonthMicros),
        spentThisMonthMicros: spend.spentThisMonthMicros,
        held: usd(spend.heldMicros),
        heldMicros: spend.heldMicros,
        needed: usd(job.holdMicros),
        neededMicros: job.holdMicros,
        remainingMicros: Math.max(0, cap - committed),
      },
    );
  }
  const rate = limits.maxSpendPerHourMicros;
  if (rate !== null && spend.spendPerHourMicros + job.spendPerHourMicros > rate) {
    throw new MeridianError(
      403,
      "spend_rate_limit",
      `this job may spend ${usd(job.spendPerHourMicros)} USD/h; with ${usd(spend.spendPerHourMicros)} USD/h running it passes the limit of ${usd(rate)} USD/h`,
      {
        maxSpendPerHour: usd(rate),
        maxSpendPerHourMicros: rate,
        activeSpendPerHour: usd(spend.spendPerHourMicros),
        activeSpendPerHourMicros: spend.spendPerHourMicros,
        jobSpendPerHour: usd(job.spendPerHourMicros),
        jobSpendPerHourMicros: job.spendPerHourMicros,
      },
    );
  }
  if (cap === null) return [];
  const usage = { capMicros: cap, ...spend, heldMicros: spend.heldMicros + job.holdMicros };
  return reachesWarning(usage) ? [monthlyWarningStatement(db, accountId, usage, job.at)] : [];
}

/** Whether a batch failed on one of migration 0005's limit guards (a submit that raced another). */
export function limitGuardOf(error: unknown): "monthly_cap_reached" | "spend_rate_limit" | null {
  const text = String(error);
  if (text.includes("account_monthly_cap_reached")) return "monthly_cap_reached";
  if (text.includes("account_spend_rate_limit")) return "spend_rate_limit";
  return null;
}
