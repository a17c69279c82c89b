import { MeridianError } from "../../shared/errors.js";

/** How often providers are paid: every day (the default) or every week. */
export type PayoutSchedule = "daily" | "weekly";

export interface PayoutVars {
  PAYOUT_SCHEDULE?: string;
  /** µUSD a node must have pending to be paid in a run (earnings below it wait). */
  PAYOUT_MIN_MICROS?: string;
}

export interface PayoutConfig {
  schedule: PayoutSchedule;
  periodMs: number;
  minMicros: number;
}

/** $10, the kind of floor providers expect so that fees do not eat small payouts. */
export const DEFAULT_PAYOUT_MIN_MICROS = 10_000_000;
const DAY_MS = 86_400_000;

export function payoutConfig(env: object): PayoutConfig {
  const vars = env as PayoutVars;
  const schedule = vars.PAYOUT_SCHEDULE || "daily";
  if (schedule !== "daily" && schedule !== "weekly") {
    throw new MeridianError(503, "payouts_misconfigured", "PAYOUT_SCHEDULE must be daily or weekly");
  }
  const min = vars.PAYOUT_MIN_MICROS ? Number(vars.PAYOUT_MIN_MICROS) : DEFAULT_PAYOUT_MIN_MICROS;
  if (!Number.isSafeInteger(min) || min < 1) {
    throw new MeridianError(503, "payouts_misconfigured", "PAYOUT_MIN_MICROS must be a positive integer");
  }
  return { schedule, periodMs: schedule === "daily" ? DAY_MS : 7 * DAY_MS, minMicros: min };
}
