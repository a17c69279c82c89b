import { eq } from "drizzle-orm";
import { nodeOwners } from "../../../schema/ledger.js";
import { receiptBatches, receipts } from "../../../schema/receipts.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import { merkleProof } from "../../shared/receipts/merkle.js";
import { Receipt } from "../../shared/receipts/receipt.js";
import { anchorMemo, type ReceiptView } from "../../shared/receipts/receipt-view.js";
import { batchLeaves, leafIndex } from "./receipt-batching.js";

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
  const row = await db.select().from(receipts).where(eq(receipts.subjectId, subjectId)).get();
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
  const leaves = await batchLeaves(db, batch.id);
  const index = await leafIndex(db, batch.id, row.seq);
  view.status = "batched";
  view.proof = {
    batchId: batch.id,
    index,
    leaves: batch.leaves,
    root: batch.root,
    steps: merkleProof(leaves, index),
  };
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
