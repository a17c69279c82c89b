import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { type PayoutRow, payoutBatches, payouts } from "../../../schema/payouts.js";
import type { LedgerDb, LedgerStatement } from "../../ledger/ledger-db.js";
import { runBatch } from "../../ledger/ledger-db.js";
import { newId } from "../../shared/ids.js";

/** At most this many payouts are claimed in one run; the rest wait for the next. */
export const MAX_CLAIMS_PER_RUN = 2_000;

/**
 * Claims a payout for every node whose pending earnings reach the minimum and whose owner has a
 * proven payout wallet, fixing the amount before anything is signed. A node with an open payout is
 * skipped, and the partial unique index `payouts_open_node` refuses a second open claim even when
 * two runs race, so the same earnings are never claimed twice.
 */
export async function claimPayouts(db: LedgerDb, minMicros: number, now: number): Promise<number> {
  const due = await db.all<{ node_id: string; account_id: string; wallet: string; balance: number }>(sql`
    SELECT o.node_id AS node_id, o.account_id AS account_id, w.address AS wallet, a.balance_micros AS balance
    FROM node_owners AS o
    JOIN ledger_accounts AS a ON a.id = 'earnings:' || o.node_id
    JOIN account_wallets AS w ON w.account_id = o.account_id AND w.kind = 'payout'
    WHERE a.balance_micros >= ${Math.max(1, minMicros)}
      AND NOT EXISTS (SELECT 1 FROM payouts AS p WHERE p.node_id = o.node_id AND p.status = 'claimed')
    ORDER BY o.node_id
    LIMIT ${MAX_CLAIMS_PER_RUN}`);
  const statements: LedgerStatement[] = due.map((row) =>
    db
      .insert(payouts)
      .values({
        id: newId("pay", now),
        nodeId: row.node_id,
        accountId: row.account_id,
        wallet: row.wallet,
        amountMicros: Number(row.balance),
        status: "claimed",
        claimedAt: now,
      })
      .onConflictDoNothing(),
  );
  for (let i = 0; i < statements.length; i += 100) await runBatch(db, statements.slice(i, i + 100));
  return statements.length;
}

/** Claimed payouts not yet in a transaction, oldest first. */
export function unpackedPayouts(db: LedgerDb): Promise<PayoutRow[]> {
  return db
    .select()
    .from(payouts)
    .where(and(eq(payouts.status, "claimed"), isNull(payouts.batchId)))
    .orderBy(asc(payouts.claimedAt), asc(payouts.id))
    .all();
}

/** Records the transactions the payouts were packed into: each batch row and its payouts, atomically. */
export async function recordBatches(
  db: LedgerDb,
  groups: readonly string[][],
  now: number,
): Promise<string[]> {
  const ids: string[] = [];
  const statements: LedgerStatement[] = [];
  for (const group of groups) {
    const id = newId("pbt", now);
    ids.push(id);
    statements.push(db.insert(payoutBatches).values({ id, status: "open", createdAt: now, updatedAt: now }));
    for (const payoutId of group) {
      statements.push(
        db
          .update(payouts)
          .set({ batchId: id })
          .where(and(eq(payouts.id, payoutId), isNull(payouts.batchId))),
      );
    }
  }
  await runBatch(db, statements);
  return ids;
}
