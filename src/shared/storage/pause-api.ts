import { z } from "zod";

/**
 * Pausing a job: how long a paused job's checkpoint is kept (then the job expires) and what the
 * storage it holds costs. The defaults are a deployment's; `PAUSE_KEEP_SECONDS`,
 * `PAUSE_MAX_KEEP_SECONDS` and `STORAGE_MICROS_PER_GB_MONTH` override them.
 */

/** A week, like a stopped pod's grace on most GPU clouds before its volume is reclaimed. */
export const DEFAULT_PAUSE_KEEP_SECONDS = 7 * 24 * 3600;
export const DEFAULT_PAUSE_MAX_KEEP_SECONDS = 30 * 24 * 3600;
export const MIN_PAUSE_KEEP_SECONDS = 60;
/** RunPod's network volume: $0.07 per GB-month (µUSD). */
export const DEFAULT_STORAGE_MICROS_PER_GB_MONTH = 70_000;

/** POST /v1/jobs/:id/pause (the body is optional). */
export const PauseRequest = z
  .object({
    /** Keep the paused job this long; after it, the job ends as cancelled (expired). */
    keepForSeconds: z
      .number()
      .int()
      .min(MIN_PAUSE_KEEP_SECONDS, `a paused job is kept at least ${MIN_PAUSE_KEEP_SECONDS} s`)
      .optional(),
  })
  .strict();
export type PauseRequest = z.infer<typeof PauseRequest>;

export interface PausePolicy {
  keepSeconds: number;
  maxKeepSeconds: number;
  storageMicrosPerGbMonth: number;
}

function positiveInt(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** The deployment's pause policy, from its vars. */
export function pausePolicyOf(env: object): PausePolicy {
  const vars = env as Record<string, unknown>;
  const maxKeepSeconds = positiveInt(vars.PAUSE_MAX_KEEP_SECONDS, DEFAULT_PAUSE_MAX_KEEP_SECONDS);
  return {
    keepSeconds: Math.min(maxKeepSeconds, positiveInt(vars.PAUSE_KEEP_SECONDS, DEFAULT_PAUSE_KEEP_SECONDS)),
    maxKeepSeconds,
    storageMicrosPerGbMonth: positiveInt(
      vars.STORAGE_MICROS_PER_GB_MONTH,
      DEFAULT_STORAGE_MICROS_PER_GB_MONTH,
    ),
  };
}
