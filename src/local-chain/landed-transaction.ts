import { getBase58Decoder, getBase64Decoder } from "@solana/kit";
import type { TransactionMetadata } from "litesvm";
import type { AccountSnapshot } from "./chain-store.js";
import { decodeTokenAccount } from "./token-state.js";
import type { TxErrorJson } from "./tx-errors.js";
import type { InnerInstructionRecord, TokenBalanceRecord, TxRecord } from "./tx-record.js";
import type { DecodedTransaction } from "./wire-transaction.js";

export const MEMO_PROGRAMS = new Set([
  "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
  "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo",
]);
const LAMPORTS_PER_SIGNATURE = 5_000;

function tokenBalances(
  accounts: (AccountSnapshot | null)[],
  mintDecimals: (mint: string) => number,
): TokenBalanceRecord[] {
  const out: TokenBalanceRecord[] = [];
  accounts.forEach((account, accountIndex) => {
    if (!account) return;
    const token = decodeTokenAccount(account.owner, account.data);
    if (!token) return;
    out.push({
      accountIndex,
      mint: token.mint,
      owner: token.owner,
      programId: account.owner,
      amount: token.amount.toString(),
      decimals: mintDecimals(token.mint),
    });
  });
  return out;
}

/** The memos of a transaction as Solana's RPC formats them: "[<byte length>] <text>", joined by "; ". */
function memoField(decoded: DecodedTransaction): string | null {
  const memos: string[] = [];
  for (const instruction of decoded.message.instructions) {
    const program = decoded.accountKeys[instruction.programAddressIndex];
    if (!program || !MEMO_PROGRAMS.has(program)) continue;
    const bytes = instruction.data ?? new Uint8Array();
    memos.push(`[${bytes.length}] ${new TextDecoder().decode(bytes)}`);
  }
  return memos.length > 0 ? memos.join("; ") : null;
}

function innerInstructions(meta: TransactionMetadata): TxRecord["innerInstructions"] {
  const base58 = getBase58Decoder();
  const out: TxRecord["innerInstructions"] = [];
  meta.innerInstructions().forEach((list, index) => {
    if (list.length === 0) return;
    const instructions: InnerInstructionRecord[] = list.map((inner) => {
      const compiled = inner.instruction();
      return {
        programIdIndex: compiled.programIdIndex(),
        accounts: [...compiled.accounts()],
        data: base58.decode(compiled.data()),
        stackHeight: inner.stackHeight(),
      };
    });
    out.push({ index, instructions });
  });
  return out;
}

export interface LandedInput {
  decoded: DecodedTransaction;
  slot: number;
  blockTime: number;
  err: TxErrorJson | null;
  meta: TransactionMetadata;
  pre: (AccountSnapshot | null)[];
  post: (AccountSnapshot | null)[];
  mintDecimals: (mint: string) => number;
}

/** What the chain keeps of a transaction that landed, in the terms `getTransaction` reports. */
export function buildTxRecord(input: LandedInput): TxRecord {
  const { decoded, meta } = input;
  const wire = getBase64Decoder().decode(decoded.wire);
  return {
    signature: decoded.signature,
    slot: input.slot,
    blockTime: input.blockTime,
    wire,
    err: input.err,
    fee: LAMPORTS_PER_SIGNATURE * decoded.signatures.length,
    logs: meta.logs(),
    computeUnits: Number(meta.computeUnitsConsumed()),
    accountKeys: decoded.accountKeys.map(String),
    preBalances: input.pre.map((a) => Number(a?.lamports ?? 0n)),
    postBalances: input.post.map((a) => Number(a?.lamports ?? 0n)),
    preTokenBalances: tokenBalances(input.pre, input.mintDecimals),
    postTokenBalances: tokenBalances(input.post, input.mintDecimals),
    innerInstructions: innerInstructions(meta),
    memo: memoField(decoded),
  };
}
