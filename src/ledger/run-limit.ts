import type { Billing } from "../shared/billing.js";
import { DEFAULT_BILLING } from "../shared/billing.js";
import { hourlyRate } from "./meter.js";

export interface RunLimitInput {
  /** The job's hold as admitted (`holdPlan().holdMicros`): the most the job may ever be charged. */
  holdMicros: number;
  /** What the job's earlier attempts were charged (0 in the usual case: lost attempts are free). */
  spentMicros: number;
  /** The attempt's price (its node's, at or under the job's cap), integer µUSD per GPU-hour. */
  pricePerGpuHourMicros: number;
  /** The attempt's GPUs. */
  gpus: number;
  /** The attempt's hourly CPU and memory price (CPU-only work; see `cpuHourMicros`). */
  cpuHourMicros?: number;
  billing?: Billing;
  timeoutSeconds: number;
  maxHours?: number;
  /** Members of a gang running at once from the one hold: each may spend an equal share of what is left. */
  members?: number;
}

/**
 * The whole seconds an attempt may run from its container's start before it would be charged more
 * than the job has left (hold − spent), also bounded by the timeout and budget.maxHours. The Region
 * object stops the attempt at that point and records `budget_exhausted` (when money, not the
 * timeout, is what bound it: compare with `timeoutSeconds`). 0 means nothing is left: do not start.
 *
 * Inverse of `meter()` with its rounding: per_second may run ⌊left × 3600 / rate⌋ s (the
 * meter's ceil then never passes `left`); hourly and daily run the whole hours or days `left` buys
 * (a started unit is charged whole); per_task runs to its time limit once its fixed price fits.
 * A free attempt (an hourly rate of 0) is bounded by time only.
 */
export function runLimitSeconds(input: RunLimitInput): number {
  const billing = input.billing ?? DEFAULT_BILLING;
  const timeLimit = Math.max(
    0,
    Math.min(
      input.timeoutSeconds,
      input.maxHours === undefined ? input.timeoutSeconds : Math.floor(input.maxHours * 3600),
    ),
  );
  const left =
    BigInt(Math.max(0, input.holdMicros - input.spentMicros)) / BigInt(Math.max(1, input.members ?? 1));
  const perHour = hourlyRate(input);
  let moneyLimit: bigint;
  switch (billing.mode) {
    case "per_task":
      return left >= BigInt(billing.fixedPrice ?? 0) ? timeLimit : 0;
    case "per_second":
      if (perHour === 0n) return timeLimit;
      moneyLimit = (left * 3600n) / perHour;
      break;
    case "hourly":
      if (perHour === 0n) return timeLimit;
      moneyLimit = (left / perHour) * 3600n;
      break;
    case "daily":
      if (perHour === 0n) return timeLimit;
      moneyLimit = (left / (24n * perHour)) * 86_400n;
      break;
  }
  return moneyLimit < BigInt(timeLimit) ? Number(moneyLimit) : timeLimit;
}
