import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * The double-entry ledger. Money is integer µUSD. Balances change only through transfers: an
 * AFTER INSERT trigger on `ledger_transfers` (migration 0002_ledger_guards) moves the amount from
 * the debit account to the credit account inside the inserting statement, so a transfer and its
 * balance updates can never be split, and an `INSERT … ON CONFLICT DO NOTHING` that hits an existing
 * idempotency key moves nothing. Other triggers make transfers and settlements append-only.
 */

/** The largest single transfer (1,000,000 USD): keeps every product of amounts and basis points far below 2^63. */
export const MAX_TRANSFER_MICROS = 1_000_000_000_000;

/**
 * Kinds of ledger account. Only the issuer (source of granted credits) and the top-up source
 * (source of on-chain deposits) may go negative: their negative balance is what was put in.
 * `burned` holds the burn reserve's µUSD spent buying back MRD that was burned on chain.
 */
export const LEDGER_ACCOUNT_KINDS = [
  "user",
  "hold",
  "earnings",
  "fees",
  "burn",
  "issuer",
  "topup_source",
  "payouts",
  "burned",
] as const;
export type LedgerAccountKind = (typeof LEDGER_ACCOUNT_KINDS)[number];

export const ledgerAccounts = sqliteTable(
  "ledger_accounts",
  {
    /** Deterministic: `user:acct_…`, `hold:job_…`, `earnings:node_…`, or a system name. */
    id: text("id").primaryKey(),
    kind: text("kind", { enum: LEDGER_ACCOUNT_KINDS }).notNull(),
    /** The Meridian account it belongs to (users and their job holds); null for system accounts. */
    accountId: text("account_id"),
    /** What it is for: the job of a hold, the node of an earnings account. */
    ownerId: text("owner_id"),
    balanceMicros: integer("balance_micros").notNull().default(0),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    index("ledger_accounts_account_kind").on(t.accountId, t.kind),
    check(
      "ledger_accounts_kind",
      sql`${t.kind} IN ('user','hold','earnings','fees','burn','issuer','topup_source','payouts','burned')`,
    ),
    // The guard statement: a transfer that would overdraw a forbidden account fails its statement,
    // and D1 rolls back the whole batch it belongs to.
    check(
      "ledger_accounts_no_overdraft",
      sql`${t.balanceMicros} >= 0 OR ${t.kind} IN ('issuer','topup_source')`,
    ),
    // Integer overflow in SQLite silently yields a REAL; refuse it instead.
    check("ledger_accounts_integer_balance", sql`typeof(${t.balanceMicros}) = 'integer'`),
  ],
);

/** Immutable transfers: one row per movement, never updated or deleted. */
export const ledgerTransfers = sqliteTable(
  "ledger_transfers",
  {
    id: text("id").primaryKey(),
    debitAccountId: text("debit_account_id")
      .notNull()
      .references(() => ledgerAccounts.id),
    creditAccountId: text("credit_account_id")
      .notNull()
      .references(() => ledgerAccounts.id),
    amountMicros: integer("amount_micros").notNull(),
    kind: text("kind").notNull(),
    /** Scoped by the caller (`acct_…:credits:<header>`, `hold:job_…`): a retry finds the first result. */
    idempotencyKey: text("idempotency_key").notNull(),
    /** SHA-256 of the request's meaningful fields: the same key with another body is refused. */
    requestHash: text("request_hash").notNull(),
    /** The Meridian account whose ledger shows this entry (GET /v1/ledger). */
    accountId: text("account_id"),
    jobId: text("job_id"),
    attemptId: text("attempt_id"),
    memo: text("memo"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("ledger_transfers_idempotency_key").on(t.idempotencyKey),
    // At most one transfer of each settlement leg per attempt, whatever key a caller chose.
    uniqueIndex("ledger_transfers_attempt_leg")
      .on(t.attemptId, t.kind)
      .where(sql`${t.attemptId} IS NOT NULL`),
    index("ledger_transfers_account").on(t.accountId, t.id),
    index("ledger_transfers_debit").on(t.debitAccountId),
    index("ledger_transfers_credit").on(t.creditAccountId),
    check(
      "ledger_transfers_amount",
      sql`typeof(${t.amountMicros}) = 'integer' AND ${t.amountMicros} > 0 AND ${t.amountMicros} <= 1000000000000`,
    ),
    check("ledger_transfers_distinct", sql`${t.debitAccountId} <> ${t.creditAccountId}`),
  ],
);

/**
 * One row per finished attempt, written in the same batch as its transfers: what was metered, what
 * could be charged from the hold, and how it was split. Its primary key is the attempt, so an
 * attempt is settled exactly once; usage and earnings reports read it.
 */
export const ledgerSettlements = sqliteTable(
  "ledger_settlements",
  {
    attemptId: text("attempt_id").primaryKey(),
    jobId: text("job_id").notNull(),
    accountId: text("account_id").notNull(),
    nodeId: text("node_id").notNull(),
    gpuModel: text("gpu_model"),
    gpus: integer("gpus").notNull(),
    pricePerGpuHourMicros: integer("price_per_gpu_hour_micros").notNull(),
    billingMode: text("billing_mode").notNull(),
    outcome: text("outcome").notNull(),
    startedAt: integer("started_at"),
    endedAt: integer("ended_at").notNull(),
    billableSeconds: integer("billable_seconds").notNull(),
    /** What the meter says the attempt cost. */
    meteredMicros: integer("metered_micros").notNull(),
    /** What was taken from the hold: the metered amount, capped at what the hold still had. */
    chargedMicros: integer("charged_micros").notNull(),
    /** Metered but not covered by the hold (budget enforcement should keep this at 0). */
    shortfallMicros: integer("shortfall_micros").notNull(),
    feeMicros: integer("fee_micros").notNull(),
    burnMicros: integer("burn_micros").notNull(),
    providerMicros: integer("provider_micros").notNull(),
    createdAt: integer("created_at").notNull(),
    /** The CPU table's hourly price of a CPU-only attempt (its vCPUs and memory); 0 for GPU work. */
    cpuHourMicros: integer("cpu_hour_micros").notNull().default(0),
  },
  (t) => [
    uniqueIndex("ledger_settlements_job_attempt").on(t.jobId, t.attemptId),
    index("ledger_settlements_account_ended").on(t.accountId, t.endedAt),
    index("ledger_settlements_node_ended").on(t.nodeId, t.endedAt),
  ],
);

/** Which Meridian account owns (is paid for) a node; recorded when an agent registers with an account. */
export const nodeOwners = sqliteTable(
  "node_owners",
  {
    nodeId: text("node_id").primaryKey(),
    accountId: text("account_id").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("node_owners_account").on(t.accountId)],
);

/**
 * Spending limits an account sets on itself (GET/PUT /v1/account/limits); null means no limit.
 * Enforced at submit: by a pre-check that answers with details, and by the triggers of migration
 * 0005_account_limit_guards inside the submit's batch, so two submits at once cannot both pass.
 */
export const accountLimits = sqliteTable(
  "account_limits",
  {
    accountId: text("account_id").primaryKey(),
    /** Charged this calendar month (UTC) plus what active jobs hold may not pass this. */
    monthlyCapMicros: integer("monthly_cap_micros"),
    /** The sum of price cap × GPUs over the account's active jobs may not pass this. */
    maxSpendPerHourMicros: integer("max_spend_per_hour_micros"),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    check(
      "account_limits_monthly_cap",
      sql`${t.monthlyCapMicros} IS NULL OR (typeof(${t.monthlyCapMicros}) = 'integer' AND ${t.monthlyCapMicros} > 0)`,
    ),
    check(
      "account_limits_spend_per_hour",
      sql`${t.maxSpendPerHourMicros} IS NULL OR (typeof(${t.maxSpendPerHourMicros}) = 'integer' AND ${t.maxSpendPerHourMicros} > 0)`,
    ),
  ],
);

/** Kinds of account event; `monthly_cap_warning` is recorded once per account and month. */
export const ACCOUNT_EVENT_KINDS = ["monthly_cap_warning"] as const;
export type AccountEventKind = (typeof ACCOUNT_EVENT_KINDS)[number];

/** What happened to an account that it should know about (GET /v1/account/events); append-only. */
export const accountEvents = sqliteTable(
  "account_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    accountId: text("account_id").notNull(),
    kind: text("kind", { enum: ACCOUNT_EVENT_KINDS }).notNull(),
    /** What the event is once per: `YYYY-MM` (UTC) for monthly ones. */
    period: text("period").notNull(),
    details: text("details", { mode: "json" }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("account_events_once").on(t.accountId, t.kind, t.period),
    index("account_events_account").on(t.accountId, t.id),
  ],
);

export type LedgerAccountRow = typeof ledgerAccounts.$inferSelect;
export type LedgerTransferRow = typeof ledgerTransfers.$inferSelect;
export type LedgerSettlementRow = typeof ledgerSettlements.$inferSelect;
export type AccountLimitsRow = typeof accountLimits.$inferSelect;
export type AccountEventRow = typeof accountEvents.$inferSelect;
