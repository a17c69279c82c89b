import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Records of the money that moves on Solana. Times are ms since the epoch; token amounts are base units. */

/**
 * Wallets proven to belong to an account (Sign In With Solana): one to sign in with, one to be paid
 * to. A wallet signs in to one account only; an account has one of each kind (relinking replaces).
 */
export const accountWallets = sqliteTable(
  "account_wallets",
  {
    accountId: text("account_id").notNull(),
    kind: text("kind", { enum: ["signin", "payout"] }).notNull(),
    address: text("address").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("account_wallets_account_kind").on(t.accountId, t.kind),
    uniqueIndex("account_wallets_signin_address").on(t.address).where(sql`kind = 'signin'`),
    index("account_wallets_address").on(t.address),
  ],
);

/** Sign-in messages issued and not yet used: each nonce signs in once, before it expires. */
export const siwsNonces = sqliteTable("siws_nonces", {
  nonce: text("nonce").primaryKey(),
  purpose: text("purpose", { enum: ["signin", "payout"] }).notNull(),
  address: text("address").notNull(),
  /** The account asking, for a payout-wallet link; null for a sign-in. */
  accountId: text("account_id"),
  /** The exact message the wallet is asked to sign. */
  message: text("message").notNull(),
  expiresAt: integer("expires_at").notNull(),
  createdAt: integer("created_at").notNull(),
});

/** A requested top-up: a Solana Pay transfer request with a fresh reference key. */
export const topups = sqliteTable(
  "topups",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id").notNull(),
    token: text("token", { enum: ["usdc", "mrd"] }).notNull(),
    mint: text("mint").notNull(),
    recipient: text("recipient").notNull(),
    /** The reference public key the payer's transaction must include (Solana Pay). */
    reference: text("reference").notNull(),
    amountBase: integer("amount_base").notNull(),
    /** What the account is credited when paid in full. */
    creditMicros: integer("credit_micros").notNull(),
    status: text("status", {
      enum: ["pending", "confirmed", "credited", "underpaid", "wrong_mint", "failed"],
    }).notNull(),
    signature: text("signature"),
    paidBase: integer("paid_base"),
    note: text("note"),
    /**
     * The newest signature naming the reference such that it and every older one are settled for
     * good (final on chain, and recorded or judged no payment): the next scan lists only newer ones.
     */
    scannedThrough: text("scanned_through"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("topups_reference").on(t.reference),
    index("topups_account").on(t.accountId, t.createdAt),
    index("topups_pending").on(t.status),
    check("topups_amount_positive", sql`${t.amountBase} > 0`),
  ],
);

/**
 * Each payment signature seen, at most once (the primary key): crediting inserts this row in the
 * same batch as the ledger transfer, so a second sighting of a signature fails the whole batch.
 */
export const topupPayments = sqliteTable("topup_payments", {
  signature: text("signature").primaryKey(),
  topupId: text("topup_id").notNull(),
  accountId: text("account_id").notNull(),
  mint: text("mint").notNull(),
  paidBase: integer("paid_base").notNull(),
  creditedMicros: integer("credited_micros").notNull(),
  outcome: text("outcome", { enum: ["credited", "underpaid", "wrong_mint"] }).notNull(),
  slot: integer("slot").notNull(),
  createdAt: integer("created_at").notNull(),
});

export type TopupRow = typeof topups.$inferSelect;
export type TopupPaymentRow = typeof topupPayments.$inferSelect;
