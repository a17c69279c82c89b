import { eq, sql } from "drizzle-orm";
import { type LedgerSettlementRow, ledgerSettlements, ledgerTransfers } from "../../schema/ledger.js";
import type { Billing } from "../shared/billing.js";
import { newId } from "../shared/ids.js";
import { type MeteredOutcome, meterAttempt } from "./attempt-meter.js";
import { splitChargeSql } from "./fee-split.js";
import {
  BURN_RESERVE,
  earningsAccount,
  ensureAccount,
  holdAccount,
  type LedgerAccountRef,
  PLATFORM_FEES,
  userAccount,
} from "./ledger-accounts.js";
import type { FeeConfig } from "./ledger-config.js";
import { type LedgerDb, type LedgerStatement, runBatch } from "./ledger-db.js";
import { referralRewardStatements } from "./referrals.js";
import { requestHash } from "./request-hash.js";
import type { TransferKind } from "./transfer.js";

/**
 * How an attempt ended, as the Region object records it. `node_fault`: the container ran but the
 * node's side failed it (the engine lost it, the agent errored): the node's fault, like `lost`.
 */
export type AttemptOutcome = MeteredOutcome;

/**
 * Lost attempts and node faults (the node failed) and returned ones (never taken up) are neither
 * charged nor paid; the user's own failures and cancellations are charged for the time they ran
 * (an early failure per second, see attempt-meter.ts).
 */
export function isBillableOutcome(outcome: AttemptOutcome): boolean {
  return outcome === "succeeded" || outcome === "failed" || outcome === "cancelled";
}

export interface AttemptSettlement {
  accountId: string;
  jobId: string;
  attemptId: string;
  nodeId: string;
  outcome: AttemptOutcome;
  /** Container start (ms); null when it never started. */
  startedAt: number | null;
  endedAt: number;
  pricePerGpuHourMicros: number;
  gpus: number;
  /** A CPU-only attempt's hourly price for its vCPUs and memory (`cpuHourMicros`); absent for GPU work. */
  cpuHourMicros?: number;
  billing?: Billing;
  /** For usage by GPU model; null when unknown. */
  gpuModel?: string | null;
}

interface Leg {
  kind: TransferKind;
  column: "provider_micros" | "burn_micros" | "platform";
  to: LedgerAccountRef;
}

function legAmount(column: Leg["column"]) {
  // The platform keeps the fee less its burn share.
  return column === "platform" ? sql.raw("(s.fee_micros - s.burn_micros)") : sql.raw(`s.${column}`);
}

/**
 * The statements that settle one finished attempt, for the Region object's outbox batch. They never
 * fail on money and are idempotent: the settlement row (primary key: the attempt) is written first,
 * first one wins, and each transfer leg takes its amount from that row under a per-attempt
 * idempotency key, so a batch replayed any number of times settles the attempt exactly once.
 *
 * The charge is `meterAttempt()`'s amount for billable outcomes (0 otherwise), capped at what the job's
 * hold still has — a settlement never overdraws a hold; an uncovered remainder is recorded as
 * `shortfall_micros`. The charge is split by `splitCharge` rules: hold → provider earnings
 * (charge − fee), hold → platform fees (fee − burn), hold → burn reserve (burn); then, for an
 * account another referred, platform fees → the referrer (its share of fee − burn).
 */
export function settleAttemptStatements(
  db: LedgerDb,
  input: AttemptSettlement,
  config: FeeConfig,
  at = Date.now(),
): LedgerStatement[] {
  const billing = input.billing ?? { mode: "per_second" as const };
  const metered = isBillableOutcome(input.outcome)
    ? meterAttempt(
        {
          startedAt: input.startedAt,
          endedAt: input.endedAt,
          pricePerGpuHourMicros: input.pricePerGpuHourMicros,
          gpus: input.gpus,
          cpuHourMicros: input.cpuHourMicros,
          mode: billing.mode,
          fixedPriceMicros: billing.fixedPrice,
        },
        input.outcome,
      )
    : { billableSeconds: 0, amountMicros: 0 };
  const hold = holdAccount(input.accountId, input.jobId);
  const earnings = earningsAccount(input.nodeId);
  const charge = sql.raw("c.charged");
  const split = splitChargeSql(charge, config);
  const hash = requestHash({ ...input, billing, config });
  const legs: Leg[] = [
    { kind: "settle_provider", column: "provider_micros", to: earnings },
    { kind: "settle_fee", column: "platform", to: PLATFORM_FEES },
    { kind: "settle_burn", column: "burn_micros", to: BURN_RESERVE },
  ];
  return [
    ensureAccount(db, userAccount(input.accountId), at),
    ensureAccount(db, hold, at),
    ensureAccount(db, earnings, at),
    ensureAccount(db, PLATFORM_FEES, at),
    ensureAccount(db, BURN_RESERVE, at),
    // `WHERE true` resolves SQLite's INSERT … SELECT … ON CONFLICT parsing ambiguity.
    db
      .insert(ledgerSettlements)
      .select(
        sql`      SELECT ${input.attemptId}, ${input.jobId}, ${input.accountId}, ${input.nodeId}, ${input.gpuModel ?? null},
        CAST(${input.gpus} AS INTEGER), CAST(${input.pricePerGpuHourMicros} AS INTEGER), ${billing.mode},
        ${input.outcome}, CAST(${input.startedAt} AS INTEGER), CAST(${input.endedAt} AS INTEGER),
        CAST(${metered.billableSeconds} AS INTEGER), CAST(${metered.amountMicros} AS INTEGER),
        ${charge}, CAST(${metered.amountMicros} AS INTEGER) - ${charge}, ${split.fee}, ${split.burn},
        ${split.provider}, CAST(${at} AS INTEGER), CAST(${input.cpuHourMicros ?? 0} AS INTEGER)
      FROM (SELECT min(CAST(${metered.amountMicros} AS INTEGER), max(balance_micros, 0)) AS charged
            FROM ledger_accounts WHERE id = ${hold.id}) AS c
      WHERE true`,
      )
      .onConflictDoNothing(),
    ...legs.map((leg) =>
      db
        .insert(ledgerTransfers)
        .select(
          sql`        SELECT ${newId("tx", at)}, ${hold.id}, ${leg.to.id}, ${legAmount(leg.column)}, ${leg.kind},
          ${`settle:${input.attemptId}:${leg.kind}`}, ${hash}, s.account_id, s.job_id, s.attempt_id,
          NULL, CAST(${at} AS INTEGER)
        FROM ledger_settlements AS s
        WHERE s.attempt_id = ${input.attemptId} AND ${legAmount(leg.column)} > 0`,
        )
        .onConflictDoNothing(),
    ),
    // After the fee leg, which it takes its share from (src/ledger/referrals.ts).
    ...referralRewardStatements(db, input.attemptId, at),
  ];
}

export async function settlementOf(
  db: LedgerDb,
  attemptId: string,
): Promise<LedgerSettlementRow | undefined> {
  return db.select().from(ledgerSettlements).where(eq(ledgerSettlements.attemptId, attemptId)).get();
}

/**
 * Settles an attempt in its own batch and returns its settlement row (the first one, if the
 * attempt was already settled). For callers outside the Region object's outbox.
 */
export async function settleAttempt(
  db: LedgerDb,
  input: AttemptSettlement,
  config: FeeConfig,
  at = Date.now(),
): Promise<LedgerSettlementRow> {
  await runBatch(db, settleAttemptStatements(db, input, config, at));
  const row = await settlementOf(db, input.attemptId);
  if (!row) throw new Error(`settlement of ${input.attemptId} missing after its batch committed`);
  return row;
}
