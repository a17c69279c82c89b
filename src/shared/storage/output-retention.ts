import { DEFAULT_STORAGE_MICROS_PER_GB_MONTH } from "./pause-api.js";

/**
 * How long a job's output files are kept where the platform stores them (its R2: `r2://` and
 * `ipfs` outputs) and what keeping them costs. Each file is kept from its upload for the output's
 * `keepForSeconds`, or the deployment's `OUTPUT_RETENTION_SECONDS` (30 days by default), billed per
 * GB-month at `STORAGE_MICROS_PER_GB_MONTH` (the checkpoints' price) for that time, then deleted
 * by the cron sweep. Outputs in the user's own S3 bucket stay there (their provider bills them):
 * the platform neither deletes nor bills them.
 */

export const DEFAULT_OUTPUT_RETENTION_SECONDS = 30 * 24 * 3600;
/** The shortest and longest keep a spec may ask for one output (an hour; a year and a day). */
export const MIN_OUTPUT_KEEP_SECONDS = 3600;
export const MAX_OUTPUT_KEEP_SECONDS = 366 * 24 * 3600;

export interface OutputRetention {
  retentionMs: number;
  microsPerGbMonth: number;
}

function positiveInt(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** The deployment's default keep of output files, from its vars. */
export function outputRetentionOf(env: object): OutputRetention {
  const vars = env as Record<string, unknown>;
  return {
    retentionMs: positiveInt(vars.OUTPUT_RETENTION_SECONDS, DEFAULT_OUTPUT_RETENTION_SECONDS) * 1000,
    microsPerGbMonth: positiveInt(vars.STORAGE_MICROS_PER_GB_MONTH, DEFAULT_STORAGE_MICROS_PER_GB_MONTH),
  };
}
