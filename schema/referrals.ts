import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * Referrals (src/ledger/referral*.ts): an account's one referral code, and the accounts that signed
 * up with it. The share and the window are fixed when the referred account signs up (from
 * REFERRAL_SHARE_BPS and REFERRAL_DAYS then), so a later change of configuration does not rewrite
 * terms already given. Times are ms.
 */

/** At most one code per account; a code names one account. */
export const referralCodes = sqliteTable(
  "referral_codes",
  {
    accountId: text("account_id").primaryKey(),
    code: text("code").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("referral_codes_code").on(t.code)],
);

/** One row per referred account (the primary key: an account is referred once, at sign-up). */
export const referrals = sqliteTable(
  "referrals",
  {
    referredAccountId: text("referred_account_id").primaryKey(),
    referrerAccountId: text("referrer_account_id").notNull(),
    code: text("code").notNull(),
    /** The referrer's share of the platform's part of each fee, in basis points. */
    shareBps: integer("share_bps").notNull(),
    /** Settlements at or after this time pay the referrer nothing. */
    endsAt: integer("ends_at").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("referrals_referrer").on(t.referrerAccountId),
    check("referrals_not_self", sql`${t.referredAccountId} <> ${t.referrerAccountId}`),
    check("referrals_share_bps", sql`${t.shareBps} BETWEEN 0 AND 10000`),
  ],
);

export type ReferralRow = typeof referrals.$inferSelect;
