import type { BatchItem } from "drizzle-orm/batch";
import type { DrizzleD1Database } from "drizzle-orm/d1";

/** The drizzle handle every ledger function takes: `drizzle(env.DB)`. */
export type LedgerDb = DrizzleD1Database;

/** A statement that can join a D1 batch (and so commit or roll back with it). */
export type LedgerStatement = BatchItem<"sqlite">;

/** Runs statements as one atomic D1 batch; an empty list is a no-op. */
export async function runBatch(db: LedgerDb, statements: LedgerStatement[]): Promise<void> {
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}
