import { and, count, eq, gt, inArray, sql } from "drizzle-orm";
import { ledgerAccounts, ledgerTransfers } from "../../schema/ledger.js";
import { referrals } from "../../schema/referrals.js";
import { newId } from "../shared/ids.js";
import { PLATFORM_FEES } from "./ledger-accounts.js";
import type { LedgerDb, LedgerStatement } from "./ledger-db.js";
import { type ReferralConfig, referralEndsAt } from "./referral-config.js";

export const REFERRAL_KIND = "referral_reward" as const;

/** The sign-up batch's row that makes `referredAccountId` the referral of `referrerAccountId`. */
export function referralStatement(
  db: LedgerDb,
  input: { referredAccountId: string; referrerAccountId: string; code: string; config: ReferralConfig },
  now: number,
): LedgerStatement {
  return db.insert(referrals).values({
    referredAccountId: input.referredAccountId,
    referrerAccountId: input.referrerAccountId,
    code: input.code,
    shareBps: input.config.shareBps,
    endsAt: referralEndsAt(input.config, now),
    createdAt: now,
  });
}

/**
 * The reward of one settled attempt, for the end of its settlement batch (after the fee leg): the
 * referrer's share of what the platform kept of the fee (fee − burn), moved from the platform's
 * fees account to the referrer's balance. Its amount comes from the settlement row and the
 * referral's terms inside the statement, so it is paid only while the referral's window was open
 * when the attempt settled, and its idempotency key (one per attempt) makes a replayed batch pay
 * nothing more. The referrer's ledger shows it (`account_id`), without the referred account's job
 * or attempt ids. Nothing happens for an account nobody referred.
 */
export function referralRewardStatements(db: LedgerDb, attemptId: string, at: number): LedgerStatement[] {
  const amount = sql.raw("((s.fee_micros - s.burn_micros) * r.share_bps / 10000)");
  const referred = sql`FROM ledger_settlements AS s
        JOIN referrals AS r ON r.referred_account_id = s.account_id
        WHERE s.attempt_id = ${attemptId} AND s.created_at < r.ends_at AND ${amount} > 0`;
  return [
    db
      .insert(ledgerAccounts)
      .select(
        sql`SELECT 'user:' || r.referrer_account_id, 'user', r.referrer_account_id, r.referrer_account_id,
        0, CAST(${at} AS INTEGER) ${referred}`,
      )
      .onConflictDoNothing(),
    db
      .insert(ledgerTransfers)
      .select(
        sql`SELECT ${newId("tx", at)}, ${PLATFORM_FEES.id}, 'user:' || r.referrer_account_id, ${amount},
        ${REFERRAL_KIND}, ${`settle:${attemptId}:${REFERRAL_KIND}`}, 'referral:' || r.code,
        r.referrer_account_id, NULL, NULL, 'referral reward', CAST(${at} AS INTEGER) ${referred}`,
      )
      .onConflictDoNothing(),
  ];
}

export const REFERRAL_REVERSAL_KIND = "referral_reward_reversal" as const;

/** What a reversal takes back: the reward, as far as the referrer's balance still holds it. */
const REVERSIBLE = "min(t.amount_micros, max(a.balance_micros, 0))";

/**
 * The SQL of what `referralReversalStatement` would take back for the attempt right now (0 when no
 * reward was paid): a refund counts it among the fees it can give back, since the reversal runs first.
 */
export function referralReversibleSql(attemptId: string): ReturnType<typeof sql> {
  return sql`coalesce((SELECT ${sql.raw(REVERSIBLE)}
    FROM ledger_transfers AS t JOIN ledger_accounts AS a ON a.id = t.credit_account_id
    WHERE t.idempotency_key = ${`settle:${attemptId}:${REFERRAL_KIND}`}), 0)`;
}

/**
 * In a refund batch, after its row and before its legs: a refunded attempt's referral reward goes
 * back from the referrer to the fees account the refund draws on, as far as the referrer's balance
 * still holds it (never an overdraft). Only once the refund row exists, once per attempt (its key).
 */
export function referralReversalStatement(db: LedgerDb, attemptId: string, at: number): LedgerStatement {
  const amount = sql.raw(REVERSIBLE);
  return db
    .insert(ledgerTransfers)
    .select(
      sql`SELECT ${newId("tx", at)}, t.credit_account_id, ${PLATFORM_FEES.id}, ${amount},
        ${REFERRAL_REVERSAL_KIND}, ${`refund:${attemptId}:${REFERRAL_REVERSAL_KIND}`}, t.request_hash,
        t.account_id, NULL, NULL, 'referral reward given back: the charge was refunded', CAST(${at} AS INTEGER)
      FROM ledger_transfers AS t JOIN ledger_accounts AS a ON a.id = t.credit_account_id
      WHERE t.idempotency_key = ${`settle:${attemptId}:${REFERRAL_KIND}`} AND ${amount} > 0
        AND EXISTS (SELECT 1 FROM attempt_refunds WHERE attempt_id = ${attemptId})`,
    )
    .onConflictDoNothing();
}

export interface ReferralSummary {
  referred: number;
  /** Referred accounts whose window is still open. */
  active: number;
  /** Rewards less those given back because their charge was refunded. */
  earnedMicros: number;
  rewards: number;
}

/** What an account's referrals amount to: how many, how many still paying, what they earned it. */
export async function referralSummary(
  db: LedgerDb,
  accountId: string,
  now: number,
): Promise<ReferralSummary> {
  const [all, active, earned] = await Promise.all([
    db.select({ n: count() }).from(referrals).where(eq(referrals.referrerAccountId, accountId)).get(),
    db
      .select({ n: count() })
      .from(referrals)
      .where(and(eq(referrals.referrerAccountId, accountId), gt(referrals.endsAt, now)))
      .get(),
    db
      .select({
        n: sql<number>`count(*) FILTER (WHERE ${ledgerTransfers.kind} = ${REFERRAL_KIND})`,
        micros: sql<number>`coalesce(sum(CASE WHEN ${ledgerTransfers.kind} = ${REFERRAL_KIND}
          THEN ${ledgerTransfers.amountMicros} ELSE -${ledgerTransfers.amountMicros} END), 0)`,
      })
      .from(ledgerTransfers)
      .where(
        and(
          eq(ledgerTransfers.accountId, accountId),
          inArray(ledgerTransfers.kind, [REFERRAL_KIND, REFERRAL_REVERSAL_KIND]),
        ),
      )
      .get(),
  ]);
  return {
    referred: all?.n ?? 0,
    active: active?.n ?? 0,
    earnedMicros: Number(earned?.micros ?? 0),
    rewards: earned?.n ?? 0,
  };
}
