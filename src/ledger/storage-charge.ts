import { sql } from "drizzle-orm";
import { ledgerTransfers } from "../../schema/ledger.js";
import { newId } from "../shared/ids.js";
import { ensureAccount, PLATFORM_FEES, userAccount } from "./ledger-accounts.js";
import type { LedgerDb, LedgerStatement } from "./ledger-db.js";
import { requestHash } from "./request-hash.js";

/** A billing month for storage, as GPU clouds count it: 30 days. */
export const STORAGE_MONTH_MS = 30 * 24 * 3600 * 1000;
const BYTES_PER_GB = 1_000_000_000n;

/**
 * What keeping `bytes` for `[fromMs, toMs)` costs at a GB-month price (µUSD), rounded up to the
 * next µUSD. BigInt, because bytes × milliseconds passes 2^53 for a few GB kept a few weeks.
 */
export function storageChargeMicros(
  bytes: number,
  fromMs: number,
  toMs: number,
  microsPerGbMonth: number,
): number {
  if (bytes <= 0 || toMs <= fromMs || microsPerGbMonth <= 0) return 0;
  const numerator = BigInt(Math.round(bytes)) * BigInt(Math.round(toMs - fromMs)) * BigInt(microsPerGbMonth);
  const denominator = BYTES_PER_GB * BigInt(STORAGE_MONTH_MS);
  return Number((numerator + denominator - 1n) / denominator);
}

/** One period of a paused job's checkpoint kept in storage, charged once (its key). */
export interface StorageCharge {
  accountId: string;
  jobId: string;
  /** `storage:<jobId>:<pause start>`: a replayed batch charges the period once. */
  key: string;
  bytes: number;
  fromMs: number;
  toMs: number;
  amountMicros: number;
  /** What was kept, for the memo: "checkpoint" when absent; "output" for a job's output files. */
  what?: "checkpoint" | "output";
}

/**
 * The statements that charge a storage period from the account's balance to the platform (the
 * bytes are in the platform's object storage, not on a provider's disk). Not from the job's hold:
 * that was sized for GPU time, and a week of storage is not. The amount is capped at the balance,
 * read inside the batch (balances never go negative), and a period of 0 µUSD moves nothing.
 */
export function storageChargeStatements(db: LedgerDb, charge: StorageCharge, at: number): LedgerStatement[] {
  const user = userAccount(charge.accountId);
  const memo = `${charge.what ?? "checkpoint"} storage: ${charge.bytes} bytes for ${Math.round((charge.toMs - charge.fromMs) / 1000)} s`;
  const amount = sql`min(CAST(${charge.amountMicros} AS INTEGER), h.balance_micros)`;
  return [
    ensureAccount(db, user, at),
    ensureAccount(db, PLATFORM_FEES, at),
    db
      .insert(ledgerTransfers)
      .select(
        sql`      SELECT ${newId("tx", at)}, h.id, ${PLATFORM_FEES.id}, ${amount}, 'storage', ${charge.key},
        ${requestHash(charge)}, ${charge.accountId}, ${charge.jobId}, NULL, ${memo}, CAST(${at} AS INTEGER)
      FROM ledger_accounts AS h
      WHERE h.id = ${user.id} AND ${amount} > 0`,
      )
      .onConflictDoNothing(),
  ];
}
