import { and, desc, eq, lt } from "drizzle-orm";
import { type AccountEventRow, accountEvents } from "../../schema/ledger.js";
import { monthOf } from "./account-spend.js";
import type { LedgerDb, LedgerStatement } from "./ledger-db.js";

/** Share of the monthly cap at which the account is warned, in percent. */
export const MONTHLY_WARNING_PERCENT = 80;

export interface MonthlyUsage {
  capMicros: number;
  spentThisMonthMicros: number;
  heldMicros: number;
}

/** Whether spent + held has reached the warning share of the cap (integers: no float rounding). */
export function reachesWarning(usage: MonthlyUsage): boolean {
  return (usage.spentThisMonthMicros + usage.heldMicros) * 100 >= usage.capMicros * MONTHLY_WARNING_PERCENT;
}

/**
 * The `monthly_cap_warning` event for `at`'s month. Its (account, kind, month) is unique and the
 * insert ignores a conflict, so joined to any number of batches it is recorded once per month.
 */
export function monthlyWarningStatement(
  db: LedgerDb,
  accountId: string,
  usage: MonthlyUsage,
  at: number,
): LedgerStatement {
  return db
    .insert(accountEvents)
    .values({
      accountId,
      kind: "monthly_cap_warning",
      period: monthOf(at),
      details: { ...usage, thresholdPercent: MONTHLY_WARNING_PERCENT },
      createdAt: at,
    })
    .onConflictDoNothing();
}

/** A page of an account's events, newest first; `cursor` is the last id of the previous page. */
export async function accountEventsPage(
  db: LedgerDb,
  accountId: string,
  page: { limit: number; cursor?: number },
): Promise<{ rows: AccountEventRow[]; nextCursor: number | null }> {
  const conditions = [eq(accountEvents.accountId, accountId)];
  if (page.cursor !== undefined) conditions.push(lt(accountEvents.id, page.cursor));
  const rows = await db
    .select()
    .from(accountEvents)
    .where(and(...conditions))
    .orderBy(desc(accountEvents.id))
    .limit(page.limit + 1)
    .all();
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  return { rows: shown, nextCursor: rows.length > page.limit && last ? last.id : null };
}
