import type { Address, Commitment, Signature } from "@solana/kit";
import { sql } from "drizzle-orm";
import { nodeStakes, stakeDeposits } from "../../../schema/staking.js";
import { type LedgerDb, runBatch } from "../../ledger/ledger-db.js";
import { MeridianError } from "../../shared/errors.js";
import { auditStatement } from "../../worker/audit-log.js";
import type { SolanaClient } from "../solana-client.js";

/** The memo a stake deposit carries, naming the node it stakes for; nothing else counts. */
export const STAKE_MEMO_PREFIX = "meridian-stake-v1";

export function depositMemo(nodeId: string): string {
  return `${STAKE_MEMO_PREFIX} ${nodeId}`;
}

/** What a landed transaction put into the stake vault, read from the chain. */
export interface DepositOnChain {
  slot: number;
  amountBase: bigint;
  wallet: string;
  memos: string[];
}

interface ParsedIx {
  program?: string;
  parsed?: unknown;
}

interface TokenBalance {
  accountIndex: number;
  mint: string;
  uiTokenAmount: { amount: string };
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

/**
 * Reads a transaction (jsonParsed) and what it did to the vault: the rise of the vault's MRD
 * balance between the transaction's pre- and post-balances (what really arrived, whatever the
 * instructions say), the wallet that authorised the transfer into it, and its memos. Null when the
 * chain has no such transaction at `commitment`; a failed transaction is a 422.
 */
export async function readDeposit(
  chain: SolanaClient,
  signature: Signature,
  input: { vault: Address; mint: Address; commitment: Commitment },
): Promise<DepositOnChain | null> {
  const tx = (await chain.rpc
    .getTransaction(signature, {
      commitment: input.commitment === "processed" ? "confirmed" : input.commitment,
      encoding: "jsonParsed",
      maxSupportedTransactionVersion: 0,
    })
    .send()) as unknown;
  if (tx === null) return null;
  const root = record(tx);
  const meta = record(root.meta);
  if (meta.err !== null && meta.err !== undefined)
    throw new MeridianError(422, "deposit_failed", "the transaction failed on chain: nothing was staked");
  const message = record(record(root.transaction).message);
  const keys = (Array.isArray(message.accountKeys) ? message.accountKeys : []).map((k) =>
    typeof k === "string" ? k : String(record(k).pubkey),
  );
  const vaultIndex = keys.indexOf(input.vault);
  const balance = (list: unknown): bigint => {
    const found = (Array.isArray(list) ? (list as TokenBalance[]) : []).find(
      (b) => b.accountIndex === vaultIndex && b.mint === input.mint,
    );
    return BigInt(found?.uiTokenAmount.amount ?? "0");
  };
  const amountBase = vaultIndex < 0 ? 0n : balance(meta.postTokenBalances) - balance(meta.preTokenBalances);
  const memos: string[] = [];
  let wallet = "";
  for (const ix of (Array.isArray(message.instructions) ? message.instructions : []) as ParsedIx[]) {
    if (ix.program === "spl-memo" && typeof ix.parsed === "string") memos.push(ix.parsed);
    const parsed = record(ix.parsed);
    const info = record(parsed.info);
    if (ix.program === "spl-token" && info.destination === input.vault && !wallet)
      wallet = String(info.authority ?? info.multisigAuthority ?? "");
  }
  return { slot: Number(root.slot), amountBase, wallet, memos };
}

function isDuplicate(error: unknown): boolean {
  const text = String(error) + String((error as { cause?: unknown }).cause ?? "");
  return /UNIQUE constraint failed: stake_deposits/i.test(text);
}

/**
 * Counts a deposit for the node, once per signature: the deposit row (primary key: the signature)
 * and the node's stake go up in one batch, so the same transaction shown twice — to this node or
 * another — fails whole and moves nothing.
 */
export async function recordDeposit(
  db: LedgerDb,
  input: {
    nodeId: string;
    accountId: string;
    signature: string;
    deposit: DepositOnChain;
    now: number;
    /** Who counted it, for the audit log. */
    by?: { keyId?: string | null; address?: string | null };
  },
): Promise<void> {
  const { deposit } = input;
  if (!deposit.memos.includes(depositMemo(input.nodeId)))
    throw new MeridianError(
      422,
      "not_a_stake_deposit",
      `the transaction has no memo "${depositMemo(input.nodeId)}": it does not stake for this node`,
    );
  if (deposit.amountBase <= 0n)
    throw new MeridianError(422, "not_a_stake_deposit", "the transaction put no MRD into the stake vault");
  const amount = Number(deposit.amountBase);
  try {
    await runBatch(db, [
      db.insert(stakeDeposits).values({
        signature: input.signature,
        nodeId: input.nodeId,
        accountId: input.accountId,
        wallet: deposit.wallet,
        amountBase: amount,
        slot: deposit.slot,
        createdAt: input.now,
      }),
      db
        .insert(nodeStakes)
        .values({
          nodeId: input.nodeId,
          accountId: input.accountId,
          stakedBase: amount,
          updatedAt: input.now,
        })
        .onConflictDoUpdate({
          target: nodeStakes.nodeId,
          set: { stakedBase: sql`${nodeStakes.stakedBase} + ${amount}`, updatedAt: input.now },
        }),
      auditStatement(db, {
        accountId: input.accountId,
        action: "stake.deposited",
        subject: input.nodeId,
        ...input.by,
        details: { signature: input.signature, wallet: deposit.wallet, amountBase: amount },
        now: input.now,
      }),
    ]);
  } catch (error) {
    if (isDuplicate(error))
      throw new MeridianError(
        409,
        "deposit_already_counted",
        "this transaction was already counted as a stake",
      );
    throw error;
  }
}
