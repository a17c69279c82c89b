import { type Address, address, type Instruction, type TransactionSigner } from "@solana/kit";
import { getAddMemoInstruction } from "@solana-program/memo";

/**
 * The SPL Memo program (v2). Passed explicitly: the package's default address is another deployment
 * that LiteSVM does not load.
 */
export const MEMO_PROGRAM_ADDRESS: Address = address("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
/** Memo data is UTF-8; the program itself caps nothing, the transaction's 1,232 bytes do. */
export const MAX_MEMO_BYTES = 566;

export function memoInstruction(text: string, signers: TransactionSigner[] = []): Instruction {
  if (new TextEncoder().encode(text).length > MAX_MEMO_BYTES) {
    throw new Error(`a memo is at most ${MAX_MEMO_BYTES} bytes`);
  }
  return getAddMemoInstruction({ memo: text, signers }, { programAddress: MEMO_PROGRAM_ADDRESS });
}
