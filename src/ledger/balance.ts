import { and, eq, sql } from "drizzle-orm";
import { ledgerAccounts } from "../../schema/ledger.js";
import { userAccount } from "./ledger-accounts.js";
import type { LedgerDb } from "./ledger-db.js";

export interface AccountBalance {
  /** Spendable now: the account's balance less nothing (holds have already left it). */
  availableMicros: number;
  /** Reserved by running and queued jobs' holds. */
  heldMicros: number;
}

/** An account's available balance and what its jobs hold; 0 for an account with no ledger entries yet. */
export async function balanceOf(db: LedgerDb, accountId: string): Promise<AccountBalance> {
  const [available, held] = await db.batch([
    db
      .select({ balance: ledgerAccounts.balanceMicros })
      .from(ledgerAccounts)
      .where(eq(ledgerAccounts.id, userAccount(accountId).id)),
    db
      .select({ total: sql<number>`coalesce(sum(${ledgerAccounts.balanceMicros}), 0)` })
      .from(ledgerAccounts)
      .where(and(eq(ledgerAccounts.accountId, accountId), eq(ledgerAccounts.kind, "hold"))),
  ]);
  return { availableMicros: available[0]?.balance ?? 0, heldMicros: Number(held[0]?.total ?? 0) };
}
