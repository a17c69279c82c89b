import { and, desc, eq } from "drizzle-orm";
import { z } from "zod";
import { nodeOwners } from "../../../schema/ledger.js";
import { type ReceiptRow, receiptBatches, receipts } from "../../../schema/receipts.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import { merkleProof, type ProofStep } from "../../shared/receipts/merkle.js";
import { Receipt } from "../../shared/receipts/receipt.js";
import { anchorMemo, ProofStepSchema, type ReceiptView } from "../../shared/receipts/receipt-view.js";
import { batchLeaves, leafIndex } from "./receipt-batching.js";

/** The stored proof; a receipt batched before proofs were stored (migration 0016) gets it rebuilt. */
async function proofOf(db: LedgerDb, row: ReceiptRow): Promise<{ index: number; steps: ProofStep[] }> {
  if (row.proof !== null && row.leafIndex !== null) {
    return { index: row.leafIndex, steps: z.array(ProofStepSchema).parse(JSON.parse(row.proof)) };
  }
  const batchId = row.batchId ?? "";
  const index = await leafIndex(db, batchId, row.seq);
  return { index, steps: merkleProof(await batchLeaves(db, batchId), index) };
}

/**
 * A receipt with its proof and anchor, as `accountId` may see it: the account it charged or paid,
 * or the owner of the node that ran the attempt. Undefined for anyone else (answered as 404, so
 * another account's ids say nothing).
 */
export async function receiptFor(
  db: LedgerDb,
  subjectId: string,
  accountId: string,
  cluster: string,
): Promise<ReceiptView | undefined> {
  // A node id asks for its latest registration receipt.
  const row = subjectId.startsWith("node_")
    ? await db
        .select()
        .from(receipts)
        .where(and(eq(receipts.nodeId, subjectId), eq(receipts.kind, "registration")))
        .orderBy(desc(receipts.seq))
        .get()
    : await db.select().from(receipts).where(eq(receipts.subjectId, subjectId)).get();
  if (!row) return undefined;
  if (row.accountId !== accountId) {
    const owner = await db.select().from(nodeOwners).where(eq(nodeOwners.nodeId, row.nodeId)).get();
    if (owner?.accountId !== accountId) return undefined;
  }
  const view: ReceiptView = {
    id: row.subjectId,
    status: "signed",
    receipt: Receipt.parse(JSON.parse(row.body)),
    leafHash: row.leafHash,
    signature: row.signature,
    signer: row.signer,
    proof: null,
    anchor: null,
  };
  if (row.batchId === null) return view;
  const batch = await db.select().from(receiptBatches).where(eq(receiptBatches.id, row.batchId)).get();
  if (!batch) return view;
  view.status = "batched";
  view.proof = { batchId: batch.id, leaves: batch.leaves, root: batch.root, ...(await proofOf(db, row)) };
  if (batch.status === "anchored" && batch.signature && batch.slot !== null && batch.anchoredAt !== null) {
    view.status = "anchored";
    view.anchor = {
      cluster,
      transaction: batch.signature,
      slot: batch.slot,
      memo: anchorMemo(batch.id, batch.root, batch.leaves),
      anchoredAt: new Date(batch.anchoredAt).toISOString(),
    };
  }
  return view;
}
