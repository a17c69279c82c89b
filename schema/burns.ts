import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Buy-back-and-burn runs (src/chain/burns). A burn is claimed in D1 — its µUSD moved out of the
 * ledger's burn reserve in the same batch — before anything is signed; its signed bytes and last
 * valid block height are stored before they are sent, the same bytes are sent until they land or
 * expire, and only then is it signed anew. Times are ms.
 */
export const burns = sqliteTable(
  "burns",
  {
    id: text("id").primaryKey(),
    /** µUSD of the burn reserve this burn spends (moved to the ledger's `burned` account at claim). */
    reserveMicros: integer("reserve_micros").notNull(),
    /** µUSD per whole MRD at claim (MRD_USD_MICROS). */
    rateMicros: integer("rate_micros").notNull(),
    /** MRD base units bought from the treasury and burned: reserve × 10^6 / rate, rounded down. */
    mrdBase: integer("mrd_base").notNull(),
    status: text("status", { enum: ["open", "burned", "failed"] }).notNull(),
    wire: text("wire"),
    signature: text("signature"),
    lastValidBlockHeight: integer("last_valid_block_height"),
    signings: integer("signings").notNull().default(0),
    /** Signatures of earlier signings that expired without landing (JSON array). */
    expiredSignatures: text("expired_signatures").notNull().default("[]"),
    /** Preflight refusals of its bytes so far; at the limit it stops being sent (src/chain/sending). */
    sendRefusals: integer("send_refusals").notNull().default(0),
    slot: integer("slot"),
    error: text("error"),
    claimedAt: integer("claimed_at").notNull(),
    burnedAt: integer("burned_at"),
  },
  (t) => [
    // One burn in flight at a time: a second claim fails on this index and its batch rolls back.
    uniqueIndex("burns_one_open").on(t.status).where(sql`status = 'open'`),
    index("burns_claimed").on(t.claimedAt),
    check("burns_amounts_positive", sql`${t.reserveMicros} > 0 AND ${t.mrdBase} > 0 AND ${t.rateMicros} > 0`),
  ],
);

export type BurnRow = typeof burns.$inferSelect;
