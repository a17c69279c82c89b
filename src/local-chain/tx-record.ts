import type { TxErrorJson } from "./tx-errors.js";

export interface TokenBalanceRecord {
  accountIndex: number;
  mint: string;
  owner: string;
  programId: string;
  amount: string;
  decimals: number;
}

export interface InnerInstructionRecord {
  programIdIndex: number;
  accounts: number[];
  /** base58, as the RPC's json encoding shows instruction data. */
  data: string;
  stackHeight: number;
}

/** A transaction that landed in a block, with what `getTransaction` reports of it. */
export interface TxRecord {
  signature: string;
  slot: number;
  blockTime: number;
  /** The wire transaction, base64. */
  wire: string;
  err: TxErrorJson | null;
  fee: number;
  logs: string[];
  computeUnits: number;
  accountKeys: string[];
  preBalances: number[];
  postBalances: number[];
  preTokenBalances: TokenBalanceRecord[];
  postTokenBalances: TokenBalanceRecord[];
  innerInstructions: { index: number; instructions: InnerInstructionRecord[] }[];
  /** The memos as `getSignaturesForAddress` shows them ("[len] text; …"), or null. */
  memo: string | null;
}
