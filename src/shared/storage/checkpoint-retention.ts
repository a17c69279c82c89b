import { z } from "zod";
import { DEFAULT_STORAGE_MICROS_PER_GB_MONTH } from "./pause-api.js";

/**
 * What happens to a job's checkpoints once it has ended (succeeded, failed, cancelled, out of
 * retries): they are kept for the deployment's retention (`CHECKPOINT_RETENTION_SECONDS`, a week by
 * default, like a stopped pod's volume on most GPU clouds) so a user can still fetch or reuse them,
 * billed per GB-month while kept in the platform's R2 (`STORAGE_MICROS_PER_GB_MONTH`, the paused
 * jobs' price), then deleted by the cron sweep. A user may delete them earlier. Checkpoints in the
 * user's own S3 bucket are deleted the same way but not billed here: their provider bills them.
 * A paused job that expires has had its keep already: its checkpoints go at the expiry.
 */

export const DEFAULT_CHECKPOINT_RETENTION_SECONDS = 7 * 24 * 3600;

export interface CheckpointRetention {
  retentionMs: number;
  microsPerGbMonth: number;
}

function positiveInt(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : fallback;
}

/** The deployment's retention of ended jobs' checkpoints, from its vars. */
export function checkpointRetentionOf(env: object): CheckpointRetention {
  const vars = env as Record<string, unknown>;
  return {
    retentionMs: positiveInt(vars.CHECKPOINT_RETENTION_SECONDS, DEFAULT_CHECKPOINT_RETENTION_SECONDS) * 1000,
    microsPerGbMonth: positiveInt(vars.STORAGE_MICROS_PER_GB_MONTH, DEFAULT_STORAGE_MICROS_PER_GB_MONTH),
  };
}

/** One committed checkpoint, as the API lists it. */
export const CheckpointView = z.object({
  seq: z.number().int(),
  attemptId: z.string(),
  files: z.number().int(),
  bytes: z.number().int(),
  createdAt: z.string(),
});

/** GET /v1/jobs/:id/checkpoints. */
export const JobCheckpoints = z.object({
  jobId: z.string(),
  /** `r2` (the platform's, billed) or `s3` (the user's own bucket, not billed here). */
  store: z.enum(["r2", "s3"]),
  /** Bytes of the latest checkpoint: what a resume restores. */
  bytes: z.number().int(),
  /**
   * Bytes every kept checkpoint holds stored together (each distinct blob once: checkpoints share
   * unchanged files; and every manifest): what is billed while they are kept.
   */
  storedBytes: z.number().int(),
  /** When the sweep deletes them (the job's end plus the retention); null while the job lives. */
  keptUntil: z.string().nullable(),
  /** What keeping them since the job ended has cost so far, charged when they are deleted (µUSD). */
  accruedMicros: z.number().int(),
  microsPerGbMonth: z.number().int(),
  checkpoints: z.array(CheckpointView),
});
export type JobCheckpoints = z.infer<typeof JobCheckpoints>;

/** DELETE /v1/jobs/:id/checkpoints. */
export const CheckpointsDeleted = z.object({
  jobId: z.string(),
  /** Objects (blobs and manifests) deleted from the store. */
  objects: z.number().int(),
  bytes: z.number().int(),
  /** The storage charge for the time they were kept after the job ended (µUSD). */
  chargedMicros: z.number().int(),
});
export type CheckpointsDeleted = z.infer<typeof CheckpointsDeleted>;
