import { earningsAccount, PAYOUTS } from "./ledger-accounts.js";
import type { LedgerDb } from "./ledger-db.js";
import { type PostedTransfer, postTransfer } from "./transfer.js";

export interface PayoutInput {
  nodeId: string;
  amountMicros: number;
  /** e.g. `payout:<claim id>`; claim it before sending the on-chain payment. */
  idempotencyKey: string;
  memo?: string | null;
}

/**
 * Moves pending earnings of a node to the payouts account: what the Solana issue calls once a payout
 * is claimed. 402 `insufficient_funds` when the node has not earned that much.
 */
export function recordPayout(db: LedgerDb, input: PayoutInput): Promise<PostedTransfer> {
  return postTransfer(db, {
    debit: earningsAccount(input.nodeId),
    credit: PAYOUTS,
    amountMicros: input.amountMicros,
    kind: "payout",
    idempotencyKey: input.idempotencyKey,
    memo: input.memo ?? null,
  });
}
