import { drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { Hono } from "hono";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import { ensureReferralCode, referralCodeOf } from "../../ledger/referral-codes.js";
import { referralConfig } from "../../ledger/referral-config.js";
import { referralSummary } from "../../ledger/referrals.js";
import { formatUsd } from "../../shared/money.js";
import { ReferralView } from "../../shared/referral-api.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";

const EXAMPLE: ReferralView = {
  code: "7K3QX9M2TD",
  shareBps: 1000,
  days: 90,
  referred: 2,
  active: 1,
  rewards: 14,
  earned: "0.42",
  earnedMicros: 420_000,
};

async function view(c: Context<AppEnv>, db: LedgerDb, code: string | null): Promise<ReferralView> {
  const config = referralConfig(c.env);
  const summary = await referralSummary(db, c.get("accountId"), Date.now());
  return {
    code,
    shareBps: config.shareBps,
    days: config.days,
    referred: summary.referred,
    active: summary.active,
    rewards: summary.rewards,
    earned: formatUsd(summary.earnedMicros),
    earnedMicros: summary.earnedMicros,
  };
}

/**
 * The caller's referral code (created on POST) and its earnings: accounts that sign up with the code
 * pay it a share of their fees, as ledger transfers, for `days` after they sign up.
 */
export const referralRoutes = new Hono<AppEnv>()
  .get(
    "/",
    doc({
      id: "getReferral",
      tag: "Accounts",
      summary: "My referral code and what it earned",
      description:
        "The code (null until created with POST), the terms a new sign-up gets (`shareBps` of the platform's part of each fee, for `days`), how many accounts signed up with it, and what their fees earned this account.",
      response: { schema: ReferralView, example: EXAMPLE },
    }),
    async (c) => {
      const db = drizzle(c.env.DB);
      const code = await referralCodeOf(db, c.get("accountId"));
      return c.json(await view(c, db, code?.code ?? null));
    },
  )
  .post(
    "/",
    doc({
      id: "createReferral",
      tag: "Accounts",
      summary: "Create my referral code",
      description:
        "Creates the account's referral code (201), or answers the existing one (200): an account has one code. Give it to a new account's sign-up (`referralCode`).",
      response: {
        schema: ReferralView,
        example: EXAMPLE,
        description: "The account already had this code",
        alsoStatus: { status: 201, description: "The code was created" },
      },
    }),
    async (c) => {
      const db = drizzle(c.env.DB);
      const code = await ensureReferralCode(db, c.get("accountId"), Date.now());
      return c.json(await view(c, db, code.code), code.created ? 201 : 200);
    },
  );
