import { MAX_TRANSFER_MICROS } from "../../schema/ledger.js";
import type { BillingMode } from "../shared/billing.js";
import { MeridianError } from "../shared/errors.js";
import { hourlyRate, perSecondCharge } from "../shared/per-second-charge.js";

export { hourlyRate };

/** What the meter needs to know about one attempt's lease. */
export interface MeterInput {
  /** When the container started (ms); null when it never did, which bills nothing. */
  startedAt: number | null;
  endedAt: number;
  pricePerGpuHourMicros: number;
  gpus: number;
  /** The hourly price of the attempt's CPUs and memory (CPU-only work, see `cpuHourMicros`); 0 for GPU work. */
  cpuHourMicros?: number;
  mode: BillingMode;
  /** The accepted fixed price of a `per_task` job. */
  fixedPriceMicros?: number;
}

export interface Metered {
  /** The seconds billed: elapsed seconds rounded up, or whole hours or days for those modes. */
  billableSeconds: number;
  amountMicros: number;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Amounts beyond one transfer cannot be held, so they can never be charged either; clamp them. */
function clamp(micros: bigint): number {
  return micros > BigInt(MAX_TRANSFER_MICROS) ? MAX_TRANSFER_MICROS : Number(micros);
}

/**
 * The billable amount of an attempt, in integer µUSD (bigint inside: seconds × price × GPUs passes
 * 2^53 for long, pricey, wide jobs).
 *
 * Rounding, always up and always in whole units, so a provider is never paid for less than used:
 * - `per_second`: `perSecondCharge` (the rule the agent's usage statement uses too), where the rate is
 *   price × GPUs, or the CPU table's price for CPU-only work (`hourlyRate`).
 * - `hourly`: every started hour (at least one once started) × rate.
 * - `daily`: every started day (at least one once started) × 24 × rate.
 * - `per_task`: the fixed price once the container started, whatever the duration.
 * An attempt whose container never started bills nothing in every mode.
 */
export function meter(input: MeterInput): Metered {
  if (input.startedAt === null) return { billableSeconds: 0, amountMicros: 0 };
  const elapsedMs = Math.max(0, input.endedAt - input.startedAt);
  const perHour = hourlyRate(input);
  switch (input.mode) {
    case "per_second": {
      const { seconds, micros } = perSecondCharge(elapsedMs, perHour);
      return { billableSeconds: seconds, amountMicros: clamp(micros) };
    }
    case "hourly": {
      const hours = Math.max(1, Math.ceil(elapsedMs / HOUR_MS));
      return { billableSeconds: hours * 3600, amountMicros: clamp(BigInt(hours) * perHour) };
    }
    case "daily": {
      const days = Math.max(1, Math.ceil(elapsedMs / DAY_MS));
      return { billableSeconds: days * 86_400, amountMicros: clamp(BigInt(days) * 24n * perHour) };
    }
    case "per_task": {
      if (input.fixedPriceMicros === undefined) {
        throw new MeridianError(400, "invalid_billing", "per_task billing needs a fixed price");
      }
      return {
        billableSeconds: Math.ceil(elapsedMs / 1000),
        amountMicros: clamp(BigInt(input.fixedPriceMicros)),
      };
    }
  }
}

/** The most a lease of `seconds` can cost: what a hold must cover for the job to run to its timeout. */
export function maxCost(input: Omit<MeterInput, "startedAt" | "endedAt">, seconds: number): number {
  return meter({ ...input, startedAt: 0, endedAt: seconds * 1000 }).amountMicros;
}

/**
 * The smallest amount a started attempt can be billed: one second, hour or day at the rate, or the
 * fixed price. A budget below it could never pay for anything.
 */
export function minimumCharge(input: Omit<MeterInput, "startedAt" | "endedAt">): number {
  return maxCost(input, input.mode === "per_second" ? 1 : 0);
}

/** Refuses (400 `budget_below_minimum`) a budget that cannot pay for one billable unit. */
export function requireBudget(budgetMicros: number, minimumMicros: number): void {
  if (budgetMicros < Math.max(1, minimumMicros)) {
    throw new MeridianError(400, "budget_below_minimum", "the budget is below the minimum billable unit", {
      budgetMicros,
      minimumMicros: Math.max(1, minimumMicros),
    });
  }
}
