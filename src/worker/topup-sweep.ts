import { and, gte, inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type TopupRow, topups } from "../../schema/chain.js";
import { refreshTopup } from "./topups.js";

/** Top-ups older than this are no longer looked for on chain unless someone reads them. */
const SWEEP_WINDOW_MS = 7 * 86_400_000;
const SWEEP_LIMIT = 200;

/**
 * The cron's pass over top-ups nobody has read since paying: each top-up of the last week is looked
 * for on chain and credited exactly as a read would (the signature's primary key still makes it
 * once) — pending and confirmed ones first, then settled ones, whose reference may have been paid
 * again (a short payment made up, a request paid twice). Returns how many changed.
 */
export async function sweepPendingTopups(env: Env, now: number): Promise<number> {
  const db = drizzle(env.DB);
  const recent = (statuses: TopupRow["status"][]) =>
    db
      .select()
      .from(topups)
      .where(and(inArray(topups.status, statuses), gte(topups.createdAt, now - SWEEP_WINDOW_MS)))
      .limit(SWEEP_LIMIT)
      .all();
  const open = await recent(["pending", "confirmed"]);
  const settled = await recent(["underpaid", "wrong_mint", "credited"]);
  let changed = 0;
  for (const row of [...open, ...settled]) {
    try {
      const after = await refreshTopup(db, env, row, now);
      if (after.status !== row.status) changed += 1;
    } catch (error) {
      // One top-up the chain cannot answer for must not stop the others.
      console.warn(`top-up ${row.id}: ${String(error)}`);
    }
  }
  return changed;
}
