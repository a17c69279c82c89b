import { address, createSolanaRpc, type KeyPairSigner } from "@solana/kit";
import {
  findAssociatedTokenPda,
  getTransferCheckedInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from "@solana-program/token";
import { naming, sendInstruction } from "./kit-send.js";

/** What a Solana Pay transfer request names: `solana:<recipient>?amount=…&spl-token=…&reference=…`. */
export interface TransferRequest {
  recipient: string;
  mint: string;
  reference: string;
  amount: string;
}

/** Reads a Solana Pay transfer request URL as a wallet does (the spec's fields, nothing of ours). */
export function parseTransferRequest(url: string): TransferRequest {
  const parsed = new URL(url);
  if (parsed.protocol !== "solana:") throw new Error(`not a Solana Pay URL: ${url}`);
  const get = (name: string): string => {
    const value = parsed.searchParams.get(name);
    if (value === null) throw new Error(`the request has no ${name}: ${url}`);
    return value;
  };
  return {
    recipient: parsed.pathname,
    mint: get("spl-token"),
    reference: get("reference"),
    amount: get("amount"),
  };
}

/**
 * Pays a transfer request from `payer` as a wallet would: an SPL TransferChecked between the
 * associated token accounts, with the reference as an extra read-only key; built with kit and the
 * token program's own instruction builder, not the project's payment code.
 */
export async function payTransferRequest(
  rpcUrl: string,
  payer: KeyPairSigner,
  request: TransferRequest,
  decimals = 6,
): Promise<string> {
  const mint = address(request.mint);
  const [source] = await findAssociatedTokenPda({
    owner: payer.address,
    mint,
    tokenProgram: TOKEN_PROGRAM_ADDRESS,
  });
  const [destination] = await findAssociatedTokenPda({
    owner: address(request.recipient),
    mint,
    tokenProgram: TOKEN_PROGRAM_ADDRESS,
  });
  const [whole = "0", fraction = ""] = request.amount.split(".");
  const baseUnits = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  const transfer = getTransferCheckedInstruction({
    source,
    mint,
    destination,
    authority: payer,
    amount: baseUnits,
    decimals,
  });
  return sendInstruction(createSolanaRpc(rpcUrl), payer, naming(transfer, [request.reference]));
}
