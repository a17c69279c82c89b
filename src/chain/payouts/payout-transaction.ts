import {
  type Address,
  appendTransactionMessageInstructions,
  type Blockhash,
  compileTransaction,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  type Instruction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  type TransactionSigner,
} from "@solana/kit";
import { memoInstruction } from "../memo.js";
import { MAX_TRANSACTION_BYTES } from "../solana-client.js";
import { tokenTransferInstructions } from "../token-instructions.js";

/** USDC (and the local stand-in) has 6 decimals: one base unit is one µUSD, the ledger's unit. */
export const USDC_DECIMALS = 6;

export interface PayoutTransfer {
  payoutId: string;
  wallet: Address;
  amountBase: bigint;
}

/** The memo each payout transaction carries: the ids of the payouts it pays, so anyone can match them. */
export function payoutMemo(payoutIds: readonly string[]): string {
  return `meridian payout ${payoutIds.join(" ")}`;
}

/**
 * The instructions of one payout transaction: for each payout, create the wallet's USDC account if
 * it is missing (idempotent, the treasury pays the rent) and transferChecked from the treasury;
 * then one memo naming every payout id.
 */
export async function payoutInstructions(
  treasury: TransactionSigner,
  usdcMint: Address,
  transfers: readonly PayoutTransfer[],
): Promise<Instruction[]> {
  const out: Instruction[] = [];
  for (const transfer of transfers) {
    out.push(
      ...(await tokenTransferInstructions({
        mint: usdcMint,
        decimals: USDC_DECIMALS,
        from: treasury,
        to: transfer.wallet,
        amount: transfer.amountBase,
        payer: treasury,
      })),
    );
  }
  out.push(memoInstruction(payoutMemo(transfers.map((t) => t.payoutId))));
  return out;
}

// Any 32-byte value: the size of a transaction does not depend on which blockhash it names.
const PLACEHOLDER_BLOCKHASH = "11111111111111111111111111111111" as Blockhash;

/** The wire size of these instructions as one signed transaction (signatures take their full 64 bytes). */
export function wireBytes(feePayer: TransactionSigner, instructions: readonly Instruction[]): number {
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(feePayer, m),
    (m) =>
      setTransactionMessageLifetimeUsingBlockhash(
        { blockhash: PLACEHOLDER_BLOCKHASH, lastValidBlockHeight: 0n },
        m,
      ),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  const wire = getBase64EncodedWireTransaction(compileTransaction(message));
  return Math.floor((wire.length * 3) / 4) - (wire.endsWith("==") ? 2 : wire.endsWith("=") ? 1 : 0);
}

/**
 * Splits payouts into transactions, in order, as many per transaction as fit in Solana's 1,232
 * bytes (measured on the compiled transaction, not estimated).
 */
export async function packPayoutTransfers(
  treasury: TransactionSigner,
  usdcMint: Address,
  transfers: readonly PayoutTransfer[],
): Promise<PayoutTransfer[][]> {
  const groups: PayoutTransfer[][] = [];
  let current: PayoutTransfer[] = [];
  for (const transfer of transfers) {
    const candidate = [...current, transfer];
    const size = wireBytes(treasury, await payoutInstructions(treasury, usdcMint, candidate));
    if (size <= MAX_TRANSACTION_BYTES) {
      current = candidate;
      continue;
    }
    if (current.length === 0) throw new Error(`a single payout transaction is ${size} bytes`);
    groups.push(current);
    current = [transfer];
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
