import { env } from "cloudflare:workers";
import { address, createSolanaRpc, generateKeyPairSigner, type KeyPairSigner } from "@solana/kit";
import { getTransferSolInstruction } from "@solana-program/system";
import {
  findAssociatedTokenPda,
  getTransferCheckedInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from "@solana-program/token";
import { naming, sendInstruction } from "../support/kit-send.js";
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
  return sendInstruction(rpc, payer, naming(transfer, [to.reference, ...moreReferences]));
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
    last = await sendInstruction(rpc, payer, naming(transfer, [reference]), lifetime);
  }
  return last;
}
