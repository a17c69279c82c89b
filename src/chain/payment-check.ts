/** The parts of a `getTransaction` (json) result that validating a transfer needs. */
export interface FetchedTransaction {
  slot: number;
  err: unknown;
  accountKeys: string[];
  preTokenBalances: { mint: string; owner?: string; uiTokenAmount: { amount: string } }[];
  postTokenBalances: { mint: string; owner?: string; uiTokenAmount: { amount: string } }[];
}

export type PaymentVerdict =
  | { outcome: "paid"; paid: bigint }
  | { outcome: "underpaid"; paid: bigint }
  | { outcome: "wrong_mint"; paid: bigint; mint: string }
  | { outcome: "not_ours" };

function increases(tx: FetchedTransaction, owner: string): Map<string, bigint> {
  const total = new Map<string, bigint>();
  for (const b of tx.postTokenBalances) {
    if (b.owner === owner) total.set(b.mint, (total.get(b.mint) ?? 0n) + BigInt(b.uiTokenAmount.amount));
  }
  for (const b of tx.preTokenBalances) {
    if (b.owner === owner) total.set(b.mint, (total.get(b.mint) ?? 0n) - BigInt(b.uiTokenAmount.amount));
  }
  return total;
}

/**
 * Solana Pay's `validateTransfer`, for SPL tokens: the transaction succeeded, names the reference
 * among its keys, and raised the recipient's balance of the mint by at least the amount. A rise in
 * another mint, or a smaller rise, is reported as such; anything else did not pay us.
 */
export function judgePayment(
  tx: FetchedTransaction,
  expected: { recipient: string; mint: string; reference: string; amount: bigint },
): PaymentVerdict {
  if (tx.err !== null || !tx.accountKeys.includes(expected.reference)) return { outcome: "not_ours" };
  const rises = increases(tx, expected.recipient);
  const paid = rises.get(expected.mint) ?? 0n;
  if (paid >= expected.amount) return { outcome: "paid", paid };
  if (paid > 0n) return { outcome: "underpaid", paid };
  for (const [mint, amount] of rises) {
    if (amount > 0n) return { outcome: "wrong_mint", paid: amount, mint };
  }
  return { outcome: "not_ours" };
}
