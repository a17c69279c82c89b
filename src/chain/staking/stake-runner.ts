import type { Address, Commitment, KeyPairSigner, Signature } from "@solana/kit";
import { and, asc, eq, gt, lte } from "drizzle-orm";
import { accountWallets } from "../../../schema/chain.js";
import { type StakeTransferRow, stakeTransfers } from "../../../schema/staking.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import { auditStatement } from "../../worker/audit-log.js";
import { memoInstruction } from "../memo.js";
import { driveSend, withExpired } from "../sending/durable-send.js";
import type { SignedTransaction, SolanaClient } from "../solana-client.js";
import { tokenTransferFromAccountInstructions } from "../token-instructions.js";
import { STAKE_MEMO_PREFIX } from "./stake-deposit.js";

/** The durable steps of a stake run, in order; a test crashes the run after any of them. */
export type StakeStep = "claimed" | "signed" | "sent";

export interface StakeRunOptions {
  db: LedgerDb;
  chain: SolanaClient;
  treasury: KeyPairSigner;
  mrdMint: Address;
  stakeVault: Address;
  commitment: Commitment;
  /** False: only carry open transfers forward (an alarm between scheduled runs). */
  claim: boolean;
  /** The clock the cooldown is judged by (injected in tests). */
  now: () => number;
  confirmWaitMs?: number;
  afterStep?: (step: StakeStep, transferId: string) => void;
}

export interface StakeRunResult {
  claimed: number;
  done: number;
  pending: number;
  failed: number;
  resigned: number;
  waitingForWallet: number;
}

/** Another run signed the transfer first; this run leaves it alone. */
class StakeContention extends Error {}

/**
 * One stake run: withdrawals whose cooldown has passed are claimed (destination fixed: the owner's
 * proven payout wallet), and every open transfer out of the vault — withdrawals and slashes — is
 * sent exactly once by the durable sender's steps. A transfer that fails on chain, or that preflight
 * refused until its bytes died, goes back to where it was (a withdrawal to due, a slash to open)
 * with the error shown, and is signed anew by a later run: the vault still holds its MRD.
 */
export async function runStakeTransfers(options: StakeRunOptions): Promise<StakeRunResult> {
  const result: StakeRunResult = {
    claimed: 0,
    done: 0,
    pending: 0,
    failed: 0,
    resigned: 0,
    waitingForWallet: 0,
  };
  if (options.claim) await claimDue(options, result);
  const open = await options.db
    .select()
    .from(stakeTransfers)
    .where(eq(stakeTransfers.status, "open"))
    .orderBy(asc(stakeTransfers.createdAt))
    .limit(200)
    .all();
  for (const row of open) {
    try {
      await advance(options, row, result);
    } catch (error) {
      if (!(error instanceof StakeContention)) throw error;
    }
  }
  return result;
}

async function claimDue(options: StakeRunOptions, result: StakeRunResult): Promise<void> {
  const now = options.now();
  const due = await options.db
    .select()
    .from(stakeTransfers)
    .where(
      and(
        eq(stakeTransfers.kind, "withdraw"),
        eq(stakeTransfers.status, "unbonding"),
        lte(stakeTransfers.readyAt, now),
        gt(stakeTransfers.amountBase, 0),
      ),
    )
    .orderBy(asc(stakeTransfers.readyAt))
    .limit(200)
    .all();
  for (const row of due) {
    const wallet = await options.db
      .select({ address: accountWallets.address })
      .from(accountWallets)
      .where(and(eq(accountWallets.accountId, row.accountId), eq(accountWallets.kind, "payout")))
      .get();
    if (!wallet) {
      result.waitingForWallet += 1;
      await options.db
        .update(stakeTransfers)
        .set({ error: "due: link a payout wallet (PUT /v1/provider/payout-wallet) to receive it" })
        .where(eq(stakeTransfers.id, row.id));
      continue;
    }
    const claimed = await options.db
      .update(stakeTransfers)
      .set({ status: "open", destination: wallet.address, error: null })
      .where(and(eq(stakeTransfers.id, row.id), eq(stakeTransfers.status, "unbonding")))
      .returning({ id: stakeTransfers.id });
    if (claimed.length > 0) {
      // Only the run that claimed it records it (after the claim, as the payout-wallet link is).
      await auditStatement(options.db, {
        accountId: row.accountId,
        action: "stake.cooldown_ended",
        subject: row.nodeId,
        details: { transfer: row.id, amountBase: row.amountBase, destination: wallet.address },
        now,
      });
      result.claimed += 1;
      options.afterStep?.("claimed", row.id);
    }
  }
}

async function advance(
  options: StakeRunOptions,
  row: StakeTransferRow,
  result: StakeRunResult,
): Promise<void> {
  const outcome = await driveSend({
    chain: options.chain,
    commitment: options.commitment,
    stored: row,
    confirmWaitMs: options.confirmWaitMs,
    hooks: {
      sign: (expired) => sign(options, row, expired),
      sendFailed: async (error, refusals) => {
        await options.db
          .update(stakeTransfers)
          .set({ error, sendRefusals: refusals })
          .where(eq(stakeTransfers.id, row.id));
      },
      afterSend: () => options.afterStep?.("sent", row.id),
    },
  });
  if (outcome.resigned) result.resigned += 1;
  if (outcome.state === "confirmed") {
    await options.db
      .update(stakeTransfers)
      .set({
        status: "done",
        signature: outcome.signed.signature,
        slot: outcome.slot,
        error: null,
        doneAt: options.now(),
      })
      .where(and(eq(stakeTransfers.id, row.id), eq(stakeTransfers.status, "open")));
    result.done += 1;
    return;
  }
  if (outcome.state === "pending") {
    result.pending += 1;
    return;
  }
  // Nothing left the vault: back to due (a withdrawal) or open (a slash), to be signed anew.
  await options.db
    .update(stakeTransfers)
    .set({
      status: row.kind === "withdraw" ? "unbonding" : "open",
      wire: null,
      signature: null,
      lastValidBlockHeight: null,
      sendRefusals: 0,
      error: `${outcome.state === "refused" ? "never accepted" : "failed on chain"}: ${outcome.error}`.slice(
        0,
        500,
      ),
    })
    .where(and(eq(stakeTransfers.id, row.id), eq(stakeTransfers.signings, row.signings)));
  result.failed += 1;
}

/** Signs the vault's transfer with a fresh blockhash and stores the bytes before anything is sent. */
async function sign(
  options: StakeRunOptions,
  row: StakeTransferRow,
  expired: Signature | undefined,
): Promise<SignedTransaction> {
  if (!row.destination) throw new Error(`stake transfer ${row.id} has no destination`);
  const instructions = [
    ...(await tokenTransferFromAccountInstructions({
      source: options.stakeVault,
      to: row.destination as Address,
      mint: options.mrdMint,
      decimals: 6,
      authority: options.treasury,
      payer: options.treasury,
      amount: BigInt(row.amountBase),
    })),
    memoInstruction(`${STAKE_MEMO_PREFIX} ${row.kind} ${row.id} ${row.nodeId} ${row.amountBase}`, [
      options.treasury,
    ]),
  ];
  const signed = await options.chain.sign(options.treasury, instructions);
  const stored = await options.db
    .update(stakeTransfers)
    .set({
      wire: signed.wire,
      signature: signed.signature,
      lastValidBlockHeight: signed.lastValidBlockHeight,
      signings: row.signings + 1,
      expiredSignatures: withExpired(row.expiredSignatures, expired),
    })
    .where(
      and(
        eq(stakeTransfers.id, row.id),
        eq(stakeTransfers.signings, row.signings),
        eq(stakeTransfers.status, "open"),
      ),
    )
    .returning({ id: stakeTransfers.id });
  if (stored.length === 0) throw new StakeContention(`stake transfer ${row.id} was signed by another run`);
  options.afterStep?.("signed", row.id);
  return signed;
}
