import { env } from "cloudflare:workers";
import {
  AccountRole,
  address,
  appendTransactionMessageInstruction,
  createSolanaRpc,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  type KeyPairSigner,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from "@solana/kit";
import { getTransferSolInstruction } from "@solana-program/system";
import {
  findAssociatedTokenPda,
  getTransferCheckedInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from "@solana-program/token";
import { call, jsonInit } from "./support.js";

// The payer is an independent client: kit and the SPL token program's own instruction builder,
// as a wallet would build a Solana Pay transfer (the reference as an extra read-only key), not
// the project's payment code.
export const rpc = createSolanaRpc(env.SOLANA_RPC_URL);

/** A fresh wallet with 1 SOL and `amount` of `token` from the local faucet. */
export async function fundedWallet(token: "usdc" | "mrd", amount: string): Promise<KeyPairSigner> {
  const wallet = await generateKeyPairSigner();
  for (const [t, a] of [
    ["sol", "1"],
    [token, amount],
  ] as const) {
    const res = await call(
      "/v1/dev/faucet",
      jsonInit("POST", { wallet: wallet.address, amount: a, token: t }),
    );
    if (res.status !== 201) throw new Error(`faucet answered ${res.status}`);
  }
  return wallet;
}

/** Pays `baseUnits` of `to.mint` to `to.recipient`, naming `to.reference` (and any more) as Solana Pay does. */
export async function pay(
  payer: KeyPairSigner,
  to: { recipient: string; mint: string; reference: string },
  baseUnits: bigint,
  moreReferences: readonly string[] = [],
): Promise<string> {
  const mint = address(to.mint);
  const [source] = await findAssociatedTokenPda({
    owner: payer.address,
    mint,
    tokenProgram: TOKEN_PROGRAM_ADDRESS,
  });
  const [destination] = await findAssociatedTokenPda({
    owner: address(to.recipient),
    mint,
    tokenProgram: TOKEN_PROGRAM_ADDRESS,
  });
  const transfer = getTransferCheckedInstruction({
    source,
    mint,
    destination,
    authority: payer,
    amount: baseUnits,
    decimals: 6,
  });
  const withReference = {
    ...transfer,
    accounts: [
      ...transfer.accounts,
      ...[to.reference, ...moreReferences].map((key) => ({
        address: address(key),
        role: AccountRole.READONLY,
      })),
    ],
  };
  const { value: lifetime } = await rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(lifetime, m),
    (m) => appendTransactionMessageInstruction(withReference, m),
  );
  const signed = await signTransactionMessageWithSigners(message);
  await rpc.sendTransaction(getBase64EncodedWireTransaction(signed), { encoding: "base64" }).send();
  return getSignatureFromTransaction(signed);
}

/**
 * Sends `count` SOL transfers from `payer` to a fresh address that name `reference` as a read-only
 * key: transactions anyone can send that list under the reference and pay no top-up. Returns the
 * last one's signature.
 */
export async function sendNaming(payer: KeyPairSigner, reference: string, count: number): Promise<string> {
  const sink = (await generateKeyPairSigner()).address;
  const { value: lifetime } = await rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
  let last = "";
  for (let i = 0; i < count; i++) {
    // A distinct amount each, so no two transactions share a signature.
    const transfer = getTransferSolInstruction({
      source: payer,
      destination: sink,
      amount: 1_000_000n + BigInt(i),
    });
    const named = {
      ...transfer,
      accounts: [...transfer.accounts, { address: address(reference), role: AccountRole.READONLY }],
    };
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(payer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(lifetime, m),
      (m) => appendTransactionMessageInstruction(named, m),
    );
    const signed = await signTransactionMessageWithSigners(message);
    await rpc.sendTransaction(getBase64EncodedWireTransaction(signed), { encoding: "base64" }).send();
    last = getSignatureFromTransaction(signed);
  }
  return last;
}
