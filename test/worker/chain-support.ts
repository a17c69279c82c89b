import type { Address, Signature } from "@solana/kit";
import type { SignedTransaction, SolanaClient } from "../../src/chain/solana-client.js";

/** Polls until the transaction is confirmed, failed or expired (the local chain's slots are 25 ms). */
export async function confirmOnChain(client: SolanaClient, signed: SignedTransaction): Promise<string> {
  for (let i = 0; i < 400; i++) {
    const outcome = await client.outcome(signed, "confirmed");
    if (outcome.state !== "pending") return outcome.state;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return "timeout";
}

export async function tokenBalance(client: SolanaClient, account: Address): Promise<bigint> {
  const { value } = await client.rpc.getTokenAccountBalance(account, { commitment: "confirmed" }).send();
  return BigInt(value.amount);
}

/** The memos of a landed transaction, read with jsonParsed. */
export async function parsedTransaction(
  client: SolanaClient,
  signature: Signature,
): Promise<{ memos: string[] }> {
  const tx = await client.rpc
    .getTransaction(signature, {
      commitment: "confirmed",
      encoding: "jsonParsed",
      maxSupportedTransactionVersion: 0,
    })
    .send();
  const memos: string[] = [];
  for (const ix of tx?.transaction.message.instructions ?? []) {
    if ("parsed" in ix && ix.program === "spl-memo") memos.push(String(ix.parsed));
  }
  return { memos };
}
