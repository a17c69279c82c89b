import {
  AccountRole,
  address,
  appendTransactionMessageInstruction,
  type createSolanaRpc,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  type Instruction,
  type KeyPairSigner,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from "@solana/kit";

/** The RPC client kit builds for a URL. */
export type KitRpc = ReturnType<typeof createSolanaRpc>;

/** A recent blockhash and the block height it stays valid to. */
export type Lifetime = Parameters<typeof setTransactionMessageLifetimeUsingBlockhash>[0];

/** `instruction` with `keys` appended as read-only accounts, as Solana Pay names a reference. */
export function naming(instruction: Instruction, keys: readonly string[]): Instruction {
  return {
    ...instruction,
    accounts: [
      ...(instruction.accounts ?? []),
      ...keys.map((key) => ({ address: address(key), role: AccountRole.READONLY })),
    ],
  };
}

/**
 * Signs `instruction` in a transaction `payer` pays for and sends it, as a wallet does with kit
 * alone (nothing of the project's payment code). Pass `lifetime` to send many under one blockhash.
 * Returns the transaction's signature.
 */
export async function sendInstruction(
  rpc: KitRpc,
  payer: KeyPairSigner,
  instruction: Instruction,
  lifetime?: Lifetime,
): Promise<string> {
  const blockhash = lifetime ?? (await rpc.getLatestBlockhash({ commitment: "confirmed" }).send()).value;
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstruction(instruction, m),
  );
  const signed = await signTransactionMessageWithSigners(message);
  await rpc.sendTransaction(getBase64EncodedWireTransaction(signed), { encoding: "base64" }).send();
  return getSignatureFromTransaction(signed);
}
