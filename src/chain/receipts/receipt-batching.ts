import { and, asc, between, eq, isNull, sql } from "drizzle-orm";
import { receiptBatches, receipts } from "../../../schema/receipts.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import { newId } from "../../shared/ids.js";
import { merkleRoot } from "../../shared/receipts/merkle.js";

export interface BatchPolicy {
  /** Receipts wait at most this long (ms) for a batch. */
  intervalMs: number;
  /** Leaves per tree: a proof is ⌈log2(maxLeaves)⌉ steps, and a proof is built from the whole batch. */
  maxLeaves: number;
}

export const DEFAULT_BATCH_POLICY: BatchPolicy = { intervalMs: 5 * 60_000, maxLeaves: 4_096 };

/**
 * Groups the receipts that are in no batch yet into Merkle trees: a batch is cut when its oldest
 * receipt has waited `intervalMs`, or at once when `maxLeaves` are waiting. Leaves are in `seq`
 * order. Only the receipts object calls this, one run at a time, so nothing is minted between the
 * read and the update; the update is still guarded (`batch_id IS NULL`) and the batch row and the
 * update commit together. Returns the batches cut.
 */
export async function cutBatches(db: LedgerDb, policy: BatchPolicy, now: number): Promise<number> {
  let cut = 0;
  for (;;) {
    const waiting = await db
      .select({ seq: receipts.seq, leafHash: receipts.leafHash, createdAt: receipts.createdAt })
      .from(receipts)
      .where(isNull(receipts.batchId))
      .orderBy(asc(receipts.seq))
      .limit(policy.maxLeaves)
      .all();
    const first = waiting[0];
    const last = waiting[waiting.length - 1];
    if (!first || !last) return cut;
    if (waiting.length < policy.maxLeaves && now - first.createdAt < policy.intervalMs) return cut;
    const id = newId("rbt", now);
    const root = merkleRoot(waiting.map((row) => row.leafHash));
    await db.batch([
      db.insert(receiptBatches).values({
        id,
        root,
        leaves: waiting.length,
        firstSeq: first.seq,
        lastSeq: last.seq,
        status: "open",
        createdAt: now,
      }),
      db
        .update(receipts)
        .set({ batchId: id })
        .where(and(isNull(receipts.batchId), between(receipts.seq, first.seq, last.seq))),
    ]);
    cut += 1;
  }
}

/** The leaf hashes of a batch in tree order: what a proof is built from. */
export async function batchLeaves(db: LedgerDb, batchId: string): Promise<string[]> {
  const rows = await db
    .select({ leafHash: receipts.leafHash })
    .from(receipts)
    .where(eq(receipts.batchId, batchId))
    .orderBy(asc(receipts.seq))
    .all();
  return rows.map((row) => row.leafHash);
}

/** The position of a receipt in its batch. */
export async function leafIndex(db: LedgerDb, batchId: string, seq: number): Promise<number> {
  const row = await db.get<{ n: number }>(
    sql`SELECT count(*) AS n FROM receipts WHERE batch_id = ${batchId} AND seq < ${seq}`,
  );
  return Number(row?.n ?? 0);
}
