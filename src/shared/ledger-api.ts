import { z } from "zod";
import { idPattern } from "./ids.js";
import { UsdAmount } from "./money.js";

/** Request and response bodies of the money API: balance, ledger, credits, usage, earnings, estimates. */

/** Usage and earnings ranges are at most this long (a leap year), so a report is always bounded. */
export const MAX_RANGE_DAYS = 366;
const DAY_MS = 86_400_000;

/** Money in responses is a pair: `x`, a USD decimal string for people, and `xMicros`, integer µUSD for programs. */
const Usd = z.string();
const Micros = z.number().int();

export const BalanceView = z.object({
  accountId: z.string(),
  currency: z.literal("USD"),
  available: Usd,
  availableMicros: Micros,
  held: Usd,
  heldMicros: Micros,
  total: Usd,
  totalMicros: Micros,
});
export type BalanceView = z.infer<typeof BalanceView>;

export const LedgerQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.string().regex(idPattern("tx"), "a cursor from a previous page").optional(),
  })
  .strict();

export const LedgerEntryView = z.object({
  id: z.string(),
  kind: z.string(),
  from: z.string(),
  to: z.string(),
  amount: Usd,
  amountMicros: Micros,
  /** What the entry did to the caller's available balance: +in, −out, or 0 (between a hold and others). */
  balanceEffect: Usd,
  balanceEffectMicros: Micros,
  jobId: z.string().nullable(),
  attemptId: z.string().nullable(),
  memo: z.string().nullable(),
  createdAt: z.string(),
});
export const LedgerPage = z.object({ entries: z.array(LedgerEntryView), nextCursor: z.string().nullable() });
export type LedgerEntryView = z.infer<typeof LedgerEntryView>;
export type LedgerPage = z.infer<typeof LedgerPage>;

const PositiveUsd = UsdAmount.refine((micros) => micros > 0, "must be more than 0");

export const CreditRequest = z
  .object({
    accountId: z.string().regex(idPattern("acct"), "an account id (acct_…)"),
    amount: PositiveUsd,
    memo: z.string().min(1).max(200).optional(),
  })
  .strict();
export type CreditRequest = z.output<typeof CreditRequest>;

export const CreditView = z.object({
  transferId: z.string(),
  accountId: z.string(),
  amount: Usd,
  amountMicros: Micros,
  memo: z.string().nullable(),
  createdAt: z.string(),
});
export type CreditView = z.infer<typeof CreditView>;

/** A date (UTC midnight) or a full ISO-8601 time; parsed to ms since the epoch. */
const INSTANT_FORMAT = "a date (2026-12-01) or an ISO-8601 time (2026-12-01T00:00:00Z)";
const Instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })], {
    error: (issue) => (issue.input === undefined ? `required: ${INSTANT_FORMAT}` : `not ${INSTANT_FORMAT}`),
  })
  .transform((text) => Date.parse(text));

function boundedRange(range: { from: number; to: number }, ctx: z.RefinementCtx): void {
  if (range.to <= range.from) {
    ctx.addIssue({ code: "custom", path: ["to"], message: "to must be after from" });
  } else if (range.to - range.from > MAX_RANGE_DAYS * DAY_MS) {
    ctx.addIssue({
      code: "custom",
      path: ["to"],
      message: `the range may span at most ${MAX_RANGE_DAYS} days`,
    });
  }
}

export const UsageGroupBy = z.enum(["job", "day", "gpuModel"]);
export type UsageGroupBy = z.infer<typeof UsageGroupBy>;

export const UsageQuery = z
  .object({
    from: Instant,
    to: Instant,
    groupBy: UsageGroupBy.default("day"),
    format: z.enum(["json", "csv"]).default("json"),
  })
  .strict()
  .superRefine(boundedRange);
export type UsageQuery = z.output<typeof UsageQuery>;

export const UsageRow = z.object({
  key: z.string(),
  attempts: z.number().int(),
  billableSeconds: z.number().int(),
  charged: Usd,
  chargedMicros: Micros,
});
export const UsageView = z.object({
  from: z.string(),
  to: z.string(),
  groupBy: UsageGroupBy,
  currency: z.literal("USD"),
  rows: z.array(UsageRow),
  total: Usd,
  totalMicros: Micros,
});
export type UsageRow = z.infer<typeof UsageRow>;
export type UsageView = z.infer<typeof UsageView>;

/** Earnings default to the last 30 days. */
export const EarningsQuery = z
  .object({ from: Instant.optional(), to: Instant.optional() })
  .strict()
  .transform((query) => {
    const to = query.to ?? Date.now();
    return { to, from: query.from ?? to - 30 * DAY_MS };
  })
  .superRefine(boundedRange);

export const EarningsView = z.object({
  from: z.string(),
  to: z.string(),
  currency: z.literal("USD"),
  /** Per node: pending (accrued, not yet paid out) and settled (paid out), over all time. */
  nodes: z.array(
    z.object({
      nodeId: z.string(),
      pending: Usd,
      pendingMicros: Micros,
      settled: Usd,
      settledMicros: Micros,
    }),
  ),
  /** Earned in the range, by UTC day and node. */
  days: z.array(
    z.object({
      day: z.string(),
      nodeId: z.string(),
      attempts: z.number().int(),
      earned: Usd,
      earnedMicros: Micros,
    }),
  ),
  total: Usd,
  totalMicros: Micros,
});
export type EarningsView = z.infer<typeof EarningsView>;

export const CostRange = z.object({ min: Usd, minMicros: Micros, max: Usd, maxMicros: Micros });

/**
 * A CPU-only spec's rates: per vCPU-hour at the cheapest matching node's own price (the CPU
 * table's when none is online), per GiB-hour at the table's, per node-hour; and the range of the
 * matching nodes' vCPU-hour prices.
 */
export const CpuTerms = z.object({
  vcpus: z.number(),
  memoryGb: z.number(),
  nodes: z.number().int(),
  perVcpuHour: Usd,
  perVcpuHourMicros: Micros,
  perVcpuHourRange: CostRange.nullable(),
  perGbHour: Usd,
  perGbHourMicros: Micros,
  perNodeHour: Usd,
  perNodeHourMicros: Micros,
});
export type CpuTerms = z.infer<typeof CpuTerms>;

export const EstimateView = z.object({
  currency: z.literal("USD"),
  billingMode: z.string(),
  gpus: z.number().int(),
  timeoutSeconds: z.number().int(),
  /** How long a billable run may last: the timeout, or budget.maxHours when shorter. */
  maxRunSeconds: z.number().int(),
  /** True when budget.maxTotalUsd is below a full run's cost at some offer: the job would stop when it is spent. */
  budgetCapped: z.boolean(),
  /** Matching nodes online now; 0 means no range can be given. */
  offers: z.number().int(),
  pricePerGpuHour: CostRange.nullable(),
  perHour: CostRange.nullable(),
  /** CPU-only work: its vCPU-hour and GiB-hour rates and what one node of the spec costs an hour (null for GPU work). */
  cpu: CpuTerms.nullable(),
  /** The most a run can cost at each offer (to maxRunSeconds, capped by budget.maxTotalUsd). */
  maxTotal: CostRange.nullable(),
  /** The smallest charge at the cheapest offer: one billable unit. */
  minimumCharge: Usd.nullable(),
  minimumChargeMicros: Micros.nullable(),
  /** With no offers: why, in words, and what would help (null when there are offers). */
  noOffersReason: z.string().nullable(),
});
export type EstimateView = z.infer<typeof EstimateView>;

/** A limit in a request: a positive USD amount (integer µUSD once parsed), or null to remove it. */
const LimitUsd = PositiveUsd.nullable();

/** PUT /v1/account/limits: a field left out keeps its value. */
export const AccountLimitsRequest = z
  .object({ monthlyCap: LimitUsd.optional(), maxSpendPerHour: LimitUsd.optional() })
  .strict()
  .refine((body) => body.monthlyCap !== undefined || body.maxSpendPerHour !== undefined, {
    message: "set monthlyCap, maxSpendPerHour or both (null removes a limit)",
  });
export type AccountLimitsRequest = z.output<typeof AccountLimitsRequest>;

export const AccountLimitsView = z.object({
  accountId: z.string(),
  currency: z.literal("USD"),
  monthlyCap: Usd.nullable(),
  monthlyCapMicros: Micros.nullable(),
  maxSpendPerHour: Usd.nullable(),
  maxSpendPerHourMicros: Micros.nullable(),
  /** What the limits are measured against now. */
  spentThisMonth: Usd,
  spentThisMonthMicros: Micros,
  held: Usd,
  heldMicros: Micros,
  activeSpendPerHour: Usd,
  activeSpendPerHourMicros: Micros,
});
export type AccountLimitsView = z.infer<typeof AccountLimitsView>;

export const AccountEventsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    cursor: z.coerce.number().int().positive().optional(),
  })
  .strict();

export const AccountEventView = z.object({
  id: z.number().int(),
  kind: z.string(),
  /** `YYYY-MM` for monthly events. */
  period: z.string(),
  details: z.unknown(),
  createdAt: z.string(),
});
export const AccountEventsPage = z.object({
  events: z.array(AccountEventView),
  nextCursor: z.number().int().nullable(),
});
export type AccountEventsPage = z.infer<typeof AccountEventsPage>;
