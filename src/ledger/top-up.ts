import { MeridianError } from "../shared/errors.js";
import { TOPUP_SOURCE, userAccount } from "./ledger-accounts.js";
import type { LedgerDb } from "./ledger-db.js";
import { type PostedTransfer, postTransfer } from "./transfer.js";

export interface TopUpInput {
  /** The account the deposit is for. */
  accountId: string;
  /** The authenticated caller; a top-up for another account is refused. */
  callerAccountId: string;
  amountMicros: number;
  /** The deposit's unique reference (e.g. `topup:<transaction signature>`), so it counts once. */
  idempotencyKey: string;
  memo?: string | null;
}

/**
 * A deposit credited from the top-up source: the Solana issue's on-chain payments become this one
 * transfer kind, with the same idempotency and balance guarantees as every other.
 */
export async function recordTopUp(db: LedgerDb, input: TopUpInput): Promise<PostedTransfer> {
  if (input.accountId !== input.callerAccountId) {
    throw new MeridianError(403, "forbidden_account", "a top-up can only be made to your own account");
  }
  return postTransfer(db, {
    debit: TOPUP_SOURCE,
    credit: userAccount(input.accountId),
    amountMicros: input.amountMicros,
    kind: "topup",
    idempotencyKey: input.idempotencyKey,
    accountId: input.accountId,
    memo: input.memo ?? null,
  });
}
