import { and, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { storageSweepFailures } from "../../../schema/storage.js";

export type SweepKind = "checkpoints" | "upload" | "outputs" | "orphans";

/** The first retry after a minute, doubling to at most six hours. */
const FIRST_RETRY_MS = 60_000;
const MAX_RETRY_MS = 6 * 60 * 60 * 1000;
/** Past this many failures an item is reported as stuck (an operator should look) at every try. */
export const STUCK_AFTER = 5;

export function retryDelayMs(attempts: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1));
}

/** The condition "not waiting out a backoff" for an item id column of `kind`, for a sweep's query. */
export function notBackingOff(kind: SweepKind, itemId: unknown, now: number) {
  return sql`NOT EXISTS (SELECT 1 FROM ${storageSweepFailures} WHERE ${storageSweepFailures.kind} = ${kind} AND ${storageSweepFailures.itemId} = ${itemId} AND ${storageSweepFailures.retryAt} > ${now})`;
}

/** One more failure of an item: it waits longer before the next try; logged, loudly once stuck. */
export async function sweepFailed(
  env: Env,
  kind: SweepKind,
  itemId: string,
  error: unknown,
  now: number,
): Promise<number> {
  const db = drizzle(env.DB);
  const message = String(error).slice(0, 500);
  const before = await db
    .select({ attempts: storageSweepFailures.attempts })
    .from(storageSweepFailures)
    .where(and(eq(storageSweepFailures.kind, kind), eq(storageSweepFailures.itemId, itemId)))
    .get();
  const attempts = (before?.attempts ?? 0) + 1;
  const row = { attempts, retryAt: now + retryDelayMs(attempts), lastError: message, updatedAt: now };
  await db
    .insert(storageSweepFailures)
    .values({ kind, itemId, ...row })
    .onConflictDoUpdate({ target: [storageSweepFailures.kind, storageSweepFailures.itemId], set: row });
  const line = `storage sweep: ${kind} ${itemId} failed (${attempts} time(s), next try in ${Math.round(retryDelayMs(attempts) / 1000)} s): ${message}`;
  if (attempts >= STUCK_AFTER) console.error(`STUCK ${line}`);
  else console.warn(line);
  return attempts;
}

/** The item is done: its failures are forgotten. */
export async function sweepDone(env: Env, kind: SweepKind, itemId: string): Promise<void> {
  await drizzle(env.DB)
    .delete(storageSweepFailures)
    .where(and(eq(storageSweepFailures.kind, kind), eq(storageSweepFailures.itemId, itemId)));
}
