import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Provider payouts on Solana (src/chain/payouts). A payout is claimed in D1 before anything is
 * signed; the batch's signed bytes and last valid block height are stored before they are sent; the
 * ledger moves the earnings pending → paid only when the transaction is confirmed. Times are ms.
 */

/** One node's settled earnings, paid to its owner's payout wallet. */
export const payouts = sqliteTable(
  "payouts",
  {
    id: text("id").primaryKey(),
    nodeId: text("node_id").notNull(),
    accountId: text("account_id").notNull(),
    /** The owner's proven payout wallet when the payout was claimed. */
    wallet: text("wallet").notNull(),
    /** µUSD; paid as the same number of USDC base units (6 decimals). */
    amountMicros: integer("amount_micros").notNull(),
    status: text("status", { enum: ["claimed", "paid", "failed"] }).notNull(),
    /** The transaction it travels in, once packed. */
    batchId: text("batch_id"),
    signature: text("signature"),
    note: text("note"),
    claimedAt: integer("claimed_at").notNull(),
    paidAt: integer("paid_at"),
  },
  (t) => [
    // One open payout per node: a second claim of the same earnings fails on this index.
    uniqueIndex("payouts_open_node").on(t.nodeId).where(sql`status = 'claimed'`),
    index("payouts_account").on(t.accountId, t.claimedAt),
    index("payouts_batch").on(t.batchId),
    check("payouts_amount_positive", sql`${t.amountMicros} > 0`),
  ],
);

/** One transaction carrying several payouts (as many as fit in 1,232 bytes). */
export const payoutBatches = sqliteTable(
  "payout_batches",
  {
    id: text("id").primaryKey(),
    status: text("status", { enum: ["open", "signed", "confirmed", "failed"] }).notNull(),
    /** The signed wire transaction (base64), stored before it is first sent. */
    wire: text("wire"),
    signature: text("signature"),
    lastValidBlockHeight: integer("last_valid_block_height"),
    /** How many times it was signed: more than one only after a blockhash expired unlanded. */
    signings: integer("signings").notNull().default(0),
    /** Signatures of earlier signings that expired without landing (JSON array). */
    expiredSignatures: text("expired_signatures").notNull().default("[]"),
    /** Preflight refusals of its bytes so far; at the limit it stops being sent (src/chain/sending). */
    sendRefusals: integer("send_refusals").notNull().default(0),
    slot: integer("slot"),
    error: text("error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("payout_batches_status").on(t.status)],
);

export type PayoutRow = typeof payouts.$inferSelect;
export type PayoutBatchRow = typeof payoutBatches.$inferSelect;
