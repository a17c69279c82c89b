import { and, eq, sql } from "drizzle-orm";
import { ledgerTransfers } from "../../schema/ledger.js";
import { newId } from "../shared/ids.js";
import { ensureAccount, holdAccount, userAccount } from "./ledger-accounts.js";
import { type LedgerDb, type LedgerStatement, runBatch } from "./ledger-db.js";
import { requestHash } from "./request-hash.js";

export interface HoldRelease {
  accountId: string;
  jobId: string;
}

/**
 * The statements that void what is left of a job's hold back to its account (phase two's "void
 * the rest"), for the outbox batch that records the job's end. The amount is read inside the batch
 * (the hold's balance after every settlement before it); the key `release:<jobId>` makes it happen
 * once however often the batch is replayed. Release after the job's last settlement: a settlement
 * that comes later finds the hold empty and records its charge as a shortfall.
 */
export function releaseHoldStatements(db: LedgerDb, input: HoldRelease, at = Date.now()): LedgerStatement[] {
  const hold = holdAccount(input.accountId, input.jobId);
  const user = userAccount(input.accountId);
  return [
    ensureAccount(db, user, at),
    ensureAccount(db, hold, at),
    db
      .insert(ledgerTransfers)
      .select(
        sql`      SELECT ${newId("tx", at)}, h.id, ${user.id}, h.balance_micros, 'release', ${`release:${input.jobId}`},
        ${requestHash(input)}, ${input.accountId}, ${input.jobId}, NULL, NULL, CAST(${at} AS INTEGER)
      FROM ledger_accounts AS h
      WHERE h.id = ${hold.id} AND h.balance_micros > 0`,
      )
      .onConflictDoNothing(),
  ];
}

/** Releases a job's hold in its own batch; returns what went back (0 when nothing was left or it already had). */
export async function releaseHold(
  db: LedgerDb,
  input: HoldRelease,
  at = Date.now(),
): Promise<{ releasedMicros: number }> {
  await runBatch(db, releaseHoldStatements(db, input, at));
  const row = await db
    .select({ amount: ledgerTransfers.amountMicros })
    .from(ledgerTransfers)
    .where(
      and(eq(ledgerTransfers.idempotencyKey, `release:${input.jobId}`), eq(ledgerTransfers.kind, "release")),
    )
    .get();
  return { releasedMicros: row?.amount ?? 0 };
}
