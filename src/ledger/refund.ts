import { eq, sql } from "drizzle-orm";
import { type AttemptRefundRow, attemptRefunds, type RefundCause } from "../../schema/disputes.js";
import { ledgerTransfers } from "../../schema/ledger.js";
import { newId } from "../shared/ids.js";
import { BURN_RESERVE, ensureAccount, PLATFORM_FEES } from "./ledger-accounts.js";
import type { LedgerDb, LedgerStatement } from "./ledger-db.js";
import { referralReversalStatement, referralReversibleSql } from "./referrals.js";
import { requestHash } from "./request-hash.js";
import type { TransferKind } from "./transfer.js";

export interface RefundInput {
  attemptId: string;
  cause: RefundCause;
  disputeId?: string | null;
  /**
   * An SQL condition the refund also needs (a dispute's state, say), checked inside the same
   * statement, so a refund and what authorised it cannot come apart under concurrent callers.
   */
  onlyIf?: ReturnType<typeof sql>;
}

interface Leg {
  kind: TransferKind;
  column: "from_provider_micros" | "from_fees_micros" | "from_burn_micros";
  /** The SQL naming the account the leg is taken from. */
  debit: ReturnType<typeof sql>;
}

const LEGS: Leg[] = [
  { kind: "refund_provider", column: "from_provider_micros", debit: sql.raw("'earnings:' || r.node_id") },
  { kind: "refund_fee", column: "from_fees_micros", debit: sql`${PLATFORM_FEES.id}` },
  { kind: "refund_burn", column: "from_burn_micros", debit: sql`${BURN_RESERVE.id}` },
];

/**
 * The statements that give an attempt's charge back to its account: the reversal of its
 * settlement. The refund row is written first (primary key: the attempt, so a charge is refunded
 * once whichever path found the fault), its amounts fixed from the settlement and the balances
 * as they stand: the provider's share comes back from the node's unpaid earnings; what was paid
 * out already, and the platform's fee, from the fees account; the burn share from the burn reserve
 * while it still holds it. Each leg then takes its amount from that row under a per-attempt key,
 * so the batch is idempotent and never overdraws an account. Nothing happens for an attempt that
 * was not charged. A referrer's reward for the attempt goes back to the fees account (referrals.ts)
 * before the legs, and the fees the refund may take count what it brings back: a reward drawn from
 * the fee never leaves the user short.
 */
export function refundStatements(db: LedgerDb, input: RefundInput, at = Date.now()): LedgerStatement[] {
  const condition = input.onlyIf ?? sql`1`;
  const hash = requestHash({ attemptId: input.attemptId, cause: input.cause });
  return [
    ensureAccount(db, PLATFORM_FEES, at),
    ensureAccount(db, BURN_RESERVE, at),
    // `WHERE true` resolves SQLite's INSERT … SELECT … ON CONFLICT parsing ambiguity.
    db
      .insert(attemptRefunds)
      .select(
        sql`      SELECT r.attempt_id, r.job_id, r.account_id, r.node_id, ${input.cause}, ${input.disputeId ?? null},
        r.p, min(r.charged - r.p - r.b, r.fees), r.b,
        r.p + min(r.charged - r.p - r.b, r.fees) + r.b,
        r.charged - (r.p + min(r.charged - r.p - r.b, r.fees) + r.b), CAST(${at} AS INTEGER)
      FROM (
        SELECT s.attempt_id, s.job_id, s.account_id, s.node_id, s.charged_micros AS charged,
          min(s.provider_micros, max(coalesce(
            (SELECT balance_micros FROM ledger_accounts WHERE id = 'earnings:' || s.node_id), 0), 0)) AS p,
          min(s.burn_micros, max(coalesce(
            (SELECT balance_micros FROM ledger_accounts WHERE id = ${BURN_RESERVE.id}), 0), 0)) AS b,
          max(coalesce((SELECT balance_micros FROM ledger_accounts WHERE id = ${PLATFORM_FEES.id}), 0), 0)
            + ${referralReversibleSql(input.attemptId)} AS fees
        FROM ledger_settlements AS s
        WHERE s.attempt_id = ${input.attemptId} AND s.charged_micros > 0 AND ${condition}
      ) AS r
      WHERE true`,
      )
      .onConflictDoNothing(),
    // Before the legs: the referrer's reward goes back to the fees account first, so the fee leg can
    // give the user all of the fee the reward was drawn from (the row above counted it in).
    referralReversalStatement(db, input.attemptId, at),
    ...LEGS.map((leg) =>
      db
        .insert(ledgerTransfers)
        .select(
          sql`        SELECT ${newId("tx", at)}, ${leg.debit}, 'user:' || r.account_id, r.${sql.raw(leg.column)},
          ${leg.kind}, ${`refund:${input.attemptId}:${leg.kind}`}, ${hash}, r.account_id, r.job_id,
          r.attempt_id, ${`refund: ${input.cause}`}, CAST(${at} AS INTEGER)
        FROM attempt_refunds AS r
        WHERE r.attempt_id = ${input.attemptId} AND r.${sql.raw(leg.column)} > 0`,
        )
        .onConflictDoNothing(),
    ),
  ];
}

export async function refundOf(db: LedgerDb, attemptId: string): Promise<AttemptRefundRow | undefined> {
  return db.select().from(attemptRefunds).where(eq(attemptRefunds.attemptId, attemptId)).get();
}
