import { type Metered, type MeterInput, meter } from "./meter.js";

/**
 * How long an attempt may run and still count as an early failure: one that fails within its first
 * minutes is charged per second whatever its billing mode. A GPU-less or broken node would
 * otherwise earn a full hour (or day, or the task's fixed price) for every job it "ran" that failed
 * at once.
 */
export const EARLY_FAILURE_MS = 5 * 60_000;

/** What an attempt's end says about who pays, as the settlement records it. */
export type MeteredOutcome = "succeeded" | "failed" | "cancelled" | "node_fault" | "lost" | "returned";

/** True when a failed attempt ended within its first minutes (from its container's start). */
export function isEarlyFailure(outcome: MeteredOutcome, startedAt: number | null, endedAt: number): boolean {
  return outcome === "failed" && startedAt !== null && endedAt - startedAt < EARLY_FAILURE_MS;
}

/**
 * The meter for one attempt given how it ended: an early failure is metered per second at the
 * attempt's rate, and never above what its own mode would have charged (a `per_task` price lower
 * than the seconds stays the cap). Every other attempt is metered by its mode.
 */
export function meterAttempt(input: MeterInput, outcome: MeteredOutcome): Metered {
  const regular = meter(input);
  if (input.mode === "per_second" || !isEarlyFailure(outcome, input.startedAt, input.endedAt)) return regular;
  const perSecond = meter({ ...input, mode: "per_second" });
  return perSecond.amountMicros <= regular.amountMicros ? perSecond : regular;
}
