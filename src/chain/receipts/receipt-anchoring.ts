import type { Commitment, KeyPairSigner, Signature } from "@solana/kit";
import { eq, inArray } from "drizzle-orm";
import { type ReceiptBatchRow, receiptBatches } from "../../../schema/receipts.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import { anchorMemo } from "../../shared/receipts/receipt-view.js";
import { memoInstruction } from "../memo.js";
import type { SignedTransaction, SolanaClient } from "../solana-client.js";

export interface AnchorOptions {
  db: LedgerDb;
  chain: SolanaClient;
  /** Pays the fee and signs the memo: the same key that signed the receipts. */
  signer: KeyPairSigner;
  commitment: Commitment;
  now: () => number;
  /** How long one run waits for a sent memo to land before leaving it to the next run. */
  confirmWaitMs?: number;
}

export interface AnchorResult {
  anchored: number;
  /** Batches whose memo has not landed yet (carried to the next run). */
  pending: number;
  resigned: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function stored(batch: ReceiptBatchRow): SignedTransaction | undefined {
  if (!batch.wire || !batch.signature || batch.lastValidBlockHeight === null) return undefined;
  return {
    wire: batch.wire,
    signature: batch.signature as Signature,
    lastValidBlockHeight: batch.lastValidBlockHeight,
    bytes: 0,
  };
}

/**
 * Puts each open batch's root on chain in one memo transaction, signed by the receipts' signer. The
 * signed bytes are stored before they are sent and sent again until they land or their blockhash
 * dies; only then is the memo signed anew. A root written twice would be harmless (anyone checks
 * one transaction), but the same discipline as payouts keeps the count and the cost exact.
 */
export async function anchorBatches(options: AnchorOptions): Promise<AnchorResult> {
  const result: AnchorResult = { anchored: 0, pending: 0, resigned: 0 };
  const open = await options.db
    .select()
    .from(receiptBatches)
    .where(inArray(receiptBatches.status, ["open", "signed"]))
    .all();
  for (const batch of open) {
    let signed = stored(batch);
    if (signed) {
      const outcome = await options.chain.outcome(signed, options.commitment);
      if (outcome.state === "confirmed") {
        await markAnchored(options, batch.id, outcome.slot);
        result.anchored += 1;
        continue;
      }
      if (outcome.state === "expired" || outcome.state === "failed") {
        signed = await sign(options, batch);
        result.resigned += 1;
      }
    } else {
      signed = await sign(options, batch);
    }
    try {
      await options.chain.send(signed);
    } catch (error) {
      // Not landed (the fee payer may be short of SOL): the same bytes go again next run.
      console.error(
        JSON.stringify({ msg: "receipt anchor not sent", batchId: batch.id, error: String(error) }),
      );
      result.pending += 1;
      continue;
    }
    const landed = await waitFor(options, signed);
    if (landed === null) {
      result.pending += 1;
      continue;
    }
    await markAnchored(options, batch.id, landed);
    result.anchored += 1;
  }
  return result;
}

async function sign(options: AnchorOptions, batch: ReceiptBatchRow): Promise<SignedTransaction> {
  const memo = anchorMemo(batch.id, batch.root, batch.leaves);
  const signed = await options.chain.sign(options.signer, [memoInstruction(memo, [options.signer])]);
  await options.db
    .update(receiptBatches)
    .set({
      status: "signed",
      wire: signed.wire,
      signature: signed.signature,
      lastValidBlockHeight: signed.lastValidBlockHeight,
      signings: batch.signings + 1,
    })
    .where(eq(receiptBatches.id, batch.id));
  return signed;
}

async function waitFor(options: AnchorOptions, signed: SignedTransaction): Promise<number | null> {
  const deadline = options.now() + (options.confirmWaitMs ?? 10_000);
  for (;;) {
    const outcome = await options.chain.outcome(signed, options.commitment);
    if (outcome.state === "confirmed") return outcome.slot;
    if (outcome.state !== "pending" || options.now() >= deadline) return null;
    await sleep(200);
  }
}

async function markAnchored(options: AnchorOptions, batchId: string, slot: number): Promise<void> {
  await options.db
    .update(receiptBatches)
    .set({ status: "anchored", slot, anchoredAt: options.now() })
    .where(eq(receiptBatches.id, batchId));
}
