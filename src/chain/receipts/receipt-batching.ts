import { and, asc, between, eq, isNull, sql } from "drizzle-orm";
import { receiptBatches, receipts } from "../../../schema/receipts.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import { newId } from "../../shared/ids.js";
import { merkleProofs, merkleRoot, type ProofStep } from "../../shared/receipts/merkle.js";

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
    const leaves = waiting.map((row) => row.leafHash);
    const root = merkleRoot(leaves);
    const proofs = merkleProofs(leaves);
    const stored = waiting.map((row, index) => [row.seq, index, proofs[index] ?? []] as const);
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
      ...proofStatements(db, stored),
    ]);
    cut += 1;
  }
}

/** Rows per statement: a chunk's JSON (~1 KB a proof) stays well under D1's 2 MB per value. */
const PROOFS_PER_STATEMENT = 500;

/**
 * Each receipt's index and proof, stored with its batch so a read is one row (a proof rebuilt per
 * read reads the whole batch). One statement per chunk, the rows passed as one JSON parameter, so
 * a batch of 4,096 leaves is 9 statements, not 4,096.
 */
function proofStatements(db: LedgerDb, rows: readonly (readonly [number, number, ProofStep[]])[]) {
  const statements = [];
  for (let i = 0; i < rows.length; i += PROOFS_PER_STATEMENT) {
    const chunk = JSON.stringify(rows.slice(i, i + PROOFS_PER_STATEMENT));
    statements.push(
      db
        .update(receipts)
        .set({ leafIndex: sql`json_extract(j.value, '$[1]')`, proof: sql`json_extract(j.value, '$[2]')` })
        .from(sql`json_each(${chunk}) AS j`)
        .where(sql`${receipts.seq} = json_extract(j.value, '$[0]')`),
    );
  }
  return statements;
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
