import { eq } from "drizzle-orm";
import { type LedgerTransferRow, ledgerAccounts, ledgerTransfers } from "../../schema/ledger.js";
import { MeridianError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { formatUsd } from "../shared/money.js";
import { requireMicros } from "./amount.js";
import { ensureAccount, type LedgerAccountRef } from "./ledger-accounts.js";
import { type LedgerDb, type LedgerStatement, runBatch } from "./ledger-db.js";
import { requestHash } from "./request-hash.js";

/** Why money moved; settlement legs are unique per attempt (see the ledger_transfers_attempt_leg index). */
export type TransferKind =
  | "credit_grant"
  | "signup_credit"
  | "topup"
  | "hold"
  | "settle_provider"
  | "settle_fee"
  | "settle_burn"
  | "release"
  | "payout"
  /** The burn reserve spent on MRD that is burned on chain (src/chain/burns), and its reversal. */
  | "burn_buyback"
  | "burn_buyback_reversal"
  /** A charge given back because the node was at fault (src/ledger/refund.ts). */
  | "refund_provider"
  | "refund_fee"
  | "refund_burn"
  /** A paused job's checkpoint kept in object storage, per GB-month (storage-charge.ts). */
  | "storage"
  /** The referrer's share of a referred account's fee (src/ledger/referrals.ts). */
  | "referral_reward"
  | "referral_reward_reversal";

export interface TransferInput {
  debit: LedgerAccountRef;
  credit: LedgerAccountRef;
  amountMicros: number;
  kind: TransferKind;
  /** Scoped by the caller so keys of different accounts and purposes never meet. */
  idempotencyKey: string;
  /** The Meridian account whose ledger shows the entry. */
  accountId?: string | null;
  jobId?: string | null;
  attemptId?: string | null;
  memo?: string | null;
  at?: number;
}

export interface PostedTransfer {
  transfer: LedgerTransferRow;
  /** True when the key had already been used with the same request: nothing moved this time. */
  replayed: boolean;
}

const MAX_KEY_LENGTH = 300;

/** The fields a retry must repeat exactly for the key to count as the same request. */
export function transferHash(input: TransferInput): string {
  return requestHash({
    debit: input.debit.id,
    credit: input.credit.id,
    amountMicros: input.amountMicros,
    kind: input.kind,
    accountId: input.accountId ?? null,
    jobId: input.jobId ?? null,
    attemptId: input.attemptId ?? null,
    memo: input.memo ?? null,
  });
}

/**
 * A transfer as batch statements: both accounts ensured, then the row inserted. The insert trigger
 * moves the balances; `ON CONFLICT DO NOTHING` makes a replayed batch (same key) move nothing. Join
 * these to another batch to commit the transfer atomically with other records.
 */
export function transferStatements(db: LedgerDb, input: TransferInput, id = newId("tx")): LedgerStatement[] {
  const at = input.at ?? Date.now();
  return [
    ensureAccount(db, input.debit, at),
    ensureAccount(db, input.credit, at),
    db
      .insert(ledgerTransfers)
      .values({
        id,
        debitAccountId: input.debit.id,
        creditAccountId: input.credit.id,
        amountMicros: input.amountMicros,
        kind: input.kind,
        idempotencyKey: input.idempotencyKey,
        requestHash: transferHash(input),
        accountId: input.accountId ?? null,
        jobId: input.jobId ?? null,
        attemptId: input.attemptId ?? null,
        memo: input.memo ?? null,
        createdAt: at,
      })
      .onConflictDoNothing(),
  ];
}

export async function transferByKey(db: LedgerDb, key: string): Promise<LedgerTransferRow | undefined> {
  return db.select().from(ledgerTransfers).where(eq(ledgerTransfers.idempotencyKey, key)).get();
}

export async function balanceMicrosOf(db: LedgerDb, ledgerAccountId: string): Promise<number> {
  const row = await db
    .select({ balance: ledgerAccounts.balanceMicros })
    .from(ledgerAccounts)
    .where(eq(ledgerAccounts.id, ledgerAccountId))
    .get();
  return row?.balance ?? 0;
}

function sameRequest(row: LedgerTransferRow, hash: string, key: string): PostedTransfer {
  if (row.requestHash !== hash) {
    throw new MeridianError(
      409,
      "idempotency_key_reused",
      "this Idempotency-Key was already used with a different request; use a new key for a new request",
      { idempotencyKey: key.slice(key.lastIndexOf(":") + 1) },
    );
  }
  return { transfer: row, replayed: true };
}

function isOverdraft(error: unknown): boolean {
  return String(error).includes("ledger_accounts_no_overdraft");
}

/**
 * Posts one transfer with Stripe-style idempotency: a retry with the same key and request returns
 * the first result (`replayed: true`, nothing moved); the same key with a different request is
 * refused with 409 `idempotency_key_reused`; a transfer that would overdraw a guarded account is
 * refused with 402 `insufficient_funds` (details: needed, available) and nothing moves. `alongside`
 * statements commit or roll back with the transfer.
 */
export async function postTransfer(
  db: LedgerDb,
  input: TransferInput,
  alongside: LedgerStatement[] = [],
): Promise<PostedTransfer> {
  requireMicros(input.amountMicros);
  if (input.idempotencyKey.length === 0 || input.idempotencyKey.length > MAX_KEY_LENGTH) {
    throw new MeridianError(
      400,
      "invalid_idempotency_key",
      `an idempotency key has 1-${MAX_KEY_LENGTH} characters`,
    );
  }
  const hash = transferHash(input);
  const existing = await transferByKey(db, input.idempotencyKey);
  if (existing) return sameRequest(existing, hash, input.idempotencyKey);
  const id = newId("tx", input.at);
  try {
    await runBatch(db, [...transferStatements(db, input, id), ...alongside]);
  } catch (error) {
    if (!isOverdraft(error)) throw error;
    throw await insufficientFunds(db, input);
  }
  const row = await transferByKey(db, input.idempotencyKey);
  if (!row) throw new Error(`transfer ${input.idempotencyKey} vanished after its batch committed`);
  // A concurrent request with the same key may have won between the read and the batch.
  if (row.id !== id) return sameRequest(row, hash, input.idempotencyKey);
  return { transfer: row, replayed: false };
}

/**
 * Posts a transfer whose idempotency key no earlier request can hold, because it names an id drawn
 * for this request (a new job's `hold:<jobId>`): the batch alone, with no read of the key before
 * it or of the row after it (postTransfer's two reads exist for replays and races, which such a
 * key cannot have). 402 `insufficient_funds` as postTransfer; `alongside` commits with it.
 */
export async function postFreshTransfer(
  db: LedgerDb,
  input: TransferInput,
  alongside: LedgerStatement[] = [],
): Promise<void> {
  requireMicros(input.amountMicros);
  try {
    await runBatch(db, [...transferStatements(db, input, newId("tx", input.at)), ...alongside]);
  } catch (error) {
    if (!isOverdraft(error)) throw error;
    throw await insufficientFunds(db, input);
  }
}

async function insufficientFunds(db: LedgerDb, input: TransferInput): Promise<MeridianError> {
  const available = await balanceMicrosOf(db, input.debit.id);
  return new MeridianError(402, "insufficient_funds", "the balance cannot cover this amount", {
    needed: formatUsd(input.amountMicros),
    neededMicros: input.amountMicros,
    available: formatUsd(available),
    availableMicros: available,
  });
}
