import type { Address, Commitment, KeyPairSigner, Signature } from "@solana/kit";
import { and, eq, inArray } from "drizzle-orm";
import { type PayoutBatchRow, type PayoutRow, payoutBatches, payouts } from "../../../schema/payouts.js";
import { earningsAccount, PAYOUTS } from "../../ledger/ledger-accounts.js";
import { type LedgerDb, type LedgerStatement, runBatch } from "../../ledger/ledger-db.js";
import { transferStatements } from "../../ledger/transfer.js";
import { driveSend, withExpired } from "../sending/durable-send.js";
import type { SignedTransaction, SolanaClient } from "../solana-client.js";
import { claimPayouts, recordBatches, unpackedPayouts } from "./payout-claims.js";
import { type PayoutTransfer, packPayoutTransfers, payoutInstructions } from "./payout-transaction.js";

/** The durable steps of a run, in order; a test crashes the run after any of them. */
export type PayoutStep = "claimed" | "packed" | "signed" | "sent" | "settled";

export interface PayoutRunOptions {
  db: LedgerDb;
  chain: SolanaClient;
  treasury: KeyPairSigner;
  usdcMint: Address;
  /** Nodes with less pending than this (µUSD) wait for a later run. */
  minMicros: number;
  /** When a payout counts as paid: `finalized` on a cluster, `confirmed` on the local chain. */
  commitment: Commitment;
  /** False: only carry open transactions forward (an alarm between scheduled runs). */
  claim: boolean;
  now: () => number;
  /** How long one run waits for a sent transaction to land before leaving it to the next run. */
  confirmWaitMs?: number;
  /** Test hook: called after each durable step; throwing here is a crash at exactly that point. */
  afterStep?: (step: PayoutStep, batchId?: string) => void;
}

export interface PayoutRunResult {
  claimed: number;
  /** Transactions confirmed in this run, and the payouts and µUSD they paid. */
  confirmed: number;
  paid: number;
  paidMicros: number;
  /** Transactions still waiting to land (carried to the next run). */
  pending: number;
  /** Transactions that failed on chain, or that preflight refused until their bytes died (also in refused). */
  failed: number;
  refused: number;
  /** Transactions signed again because their blockhash expired unlanded. */
  resigned: number;
}

/** Another run signed the batch first; this run leaves it alone. */
export class PayoutContention extends Error {
  constructor(batchId: string) {
    super(`payout batch ${batchId} was signed by another run`);
  }
}

/**
 * One payout run. Exactly once under any crash, because every step is durable before the next
 * begins and every step can be repeated: the payout is claimed (amount fixed) before signing; the
 * signed bytes and last valid block height are stored before sending; the same bytes are sent
 * again until they land or their blockhash dies, and only then is the batch signed anew (a dead
 * blockhash can never land, so the old bytes cannot pay a second time); the ledger moves the
 * earnings pending → paid in the same D1 batch that marks the payouts paid, with the signature,
 * only after the transaction is confirmed.
 */
export async function runPayouts(options: PayoutRunOptions): Promise<PayoutRunResult> {
  const result: PayoutRunResult = {
    claimed: 0,
    confirmed: 0,
    paid: 0,
    paidMicros: 0,
    pending: 0,
    failed: 0,
    refused: 0,
    resigned: 0,
  };
  if (options.claim) {
    result.claimed = await claimPayouts(options.db, options.minMicros, options.now());
    options.afterStep?.("claimed");
  }
  await pack(options);
  options.afterStep?.("packed");
  const open = await options.db
    .select()
    .from(payoutBatches)
    .where(inArray(payoutBatches.status, ["open", "signed"]))
    .all();
  for (const batch of open) {
    try {
      await advance(options, batch, result);
    } catch (error) {
      if (!(error instanceof PayoutContention)) throw error;
    }
  }
  return result;
}

async function pack(options: PayoutRunOptions): Promise<void> {
  const waiting = await unpackedPayouts(options.db);
  if (waiting.length === 0) return;
  const groups = await packPayoutTransfers(options.treasury, options.usdcMint, waiting.map(transferOf));
  await recordBatches(
    options.db,
    groups.map((group) => group.map((t) => t.payoutId)),
    options.now(),
  );
}

function transferOf(row: PayoutRow): PayoutTransfer {
  return { payoutId: row.id, wallet: row.wallet as Address, amountBase: BigInt(row.amountMicros) };
}

async function advance(
  options: PayoutRunOptions,
  batch: PayoutBatchRow,
  result: PayoutRunResult,
): Promise<void> {
  const members = await options.db.select().from(payouts).where(eq(payouts.batchId, batch.id)).all();
  const claimed = members.filter((row) => row.status === "claimed");
  if (claimed.length === 0) {
    await options.db
      .update(payoutBatches)
      .set({ status: "failed", error: "no payouts left", updatedAt: options.now() })
      .where(eq(payoutBatches.id, batch.id));
    return;
  }
  const outcome = await driveSend({
    chain: options.chain,
    commitment: options.commitment,
    stored: batch,
    confirmWaitMs: options.confirmWaitMs,
    hooks: {
      sign: (expired) => sign(options, batch, claimed, expired),
      sendFailed: async (error, refusals) => {
        await options.db
          .update(payoutBatches)
          .set({ error, sendRefusals: refusals, updatedAt: options.now() })
          .where(eq(payoutBatches.id, batch.id));
      },
      afterSend: () => options.afterStep?.("sent", batch.id),
    },
  });
  if (outcome.resigned) result.resigned += 1;
  if (outcome.state === "confirmed")
    return settle(options, batch.id, claimed, outcome.signed, outcome.slot, result);
  if (outcome.state === "failed")
    return fail(options, batch.id, `the payout transaction failed on chain: ${outcome.error}`, result);
  if (outcome.state === "refused") {
    result.refused += 1;
    return fail(options, batch.id, `the payout transaction was never accepted: ${outcome.error}`, result);
  }
  result.pending += 1;
}

/** Signs the batch with a fresh blockhash and stores the bytes before anything is sent. */
async function sign(
  options: PayoutRunOptions,
  batch: PayoutBatchRow,
  claimed: readonly PayoutRow[],
  expired: Signature | undefined,
): Promise<SignedTransaction> {
  const instructions = await payoutInstructions(options.treasury, options.usdcMint, claimed.map(transferOf));
  const signed = await options.chain.sign(options.treasury, instructions);
  // Stored only if nobody signed this batch meanwhile: bytes that lose this race are never sent,
  // so two live signings of one batch (two blockhashes that could both land) cannot exist.
  const stored = await options.db
    .update(payoutBatches)
    .set({
      status: "signed",
      wire: signed.wire,
      signature: signed.signature,
      lastValidBlockHeight: signed.lastValidBlockHeight,
      signings: batch.signings + 1,
      expiredSignatures: withExpired(batch.expiredSignatures, expired),
      updatedAt: options.now(),
    })
    .where(and(eq(payoutBatches.id, batch.id), eq(payoutBatches.signings, batch.signings)))
    .returning({ id: payoutBatches.id });
  if (stored.length === 0) throw new PayoutContention(batch.id);
  options.afterStep?.("signed", batch.id);
  return signed;
}

async function settle(
  options: PayoutRunOptions,
  batchId: string,
  claimed: readonly PayoutRow[],
  signed: SignedTransaction,
  slot: number,
  result: PayoutRunResult,
): Promise<void> {
  const at = options.now();
  const statements: LedgerStatement[] = [];
  for (const row of claimed) {
    statements.push(
      ...transferStatements(options.db, {
        debit: earningsAccount(row.nodeId),
        credit: PAYOUTS,
        amountMicros: row.amountMicros,
        kind: "payout",
        idempotencyKey: `payout:${row.id}`,
        accountId: row.accountId,
        memo: `payout ${row.id} · ${signed.signature}`,
        at,
      }),
      options.db
        .update(payouts)
        .set({ status: "paid", signature: signed.signature, paidAt: at })
        .where(and(eq(payouts.id, row.id), eq(payouts.status, "claimed"))),
    );
  }
  statements.push(
    options.db
      .update(payoutBatches)
      .set({ status: "confirmed", slot, error: null, updatedAt: at })
      .where(eq(payoutBatches.id, batchId)),
  );
  await runBatch(options.db, statements);
  result.confirmed += 1;
  result.paid += claimed.length;
  result.paidMicros += claimed.reduce((sum, row) => sum + row.amountMicros, 0);
  options.afterStep?.("settled", batchId);
}

/**
 * The transaction landed with an error, or preflight refused it until its bytes died: nothing moved
 * on chain, so the payouts end `failed` with why (the provider sees it on GET /v1/provider/payouts)
 * and their earnings stay pending, to be claimed again by a later run.
 */
async function fail(
  options: PayoutRunOptions,
  batchId: string,
  why: string,
  result: PayoutRunResult,
): Promise<void> {
  const at = options.now();
  await runBatch(options.db, [
    options.db
      .update(payouts)
      .set({ status: "failed", note: why.slice(0, 500) })
      .where(and(eq(payouts.batchId, batchId), eq(payouts.status, "claimed"))),
    options.db
      .update(payoutBatches)
      .set({ status: "failed", error: why.slice(0, 500), updatedAt: at })
      .where(eq(payoutBatches.id, batchId)),
  ]);
  result.failed += 1;
}
