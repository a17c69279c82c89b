import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { ledgerTransfers } from "../../../schema/ledger.js";
import { jobCheckpointBlobs, jobCheckpoints } from "../../../schema/storage.js";
import { PAUSE_EXPIRED } from "../../durable/job-pause.js";
import { runBatch } from "../../ledger/ledger-db.js";
import {
  type StorageCharge,
  storageChargeMicros,
  storageChargeStatements,
} from "../../ledger/storage-charge.js";
import { MeridianError } from "../../shared/errors.js";
import type { JobSpec } from "../../shared/job-spec.js";
import { type CheckpointsDeleted, checkpointRetentionOf } from "../../shared/storage/checkpoint-retention.js";
import { forgetOrphanCheck } from "./checkpoint-orphans.js";
import { openCheckpointPlace } from "./checkpoint-place.js";
import { checkpointBytes } from "./checkpoint-store.js";

/** A job whose checkpoints may be kept past its end: what deciding their fate needs. */
export interface EndedJob {
  jobId: string;
  accountId: string;
  spec: Pick<JobSpec, "checkpoint">;
  endedAt: number | null;
  reason: string | null;
}

/** Failures no later try can mend: the credentials of the user's bucket are gone or unusable. */
const HOPELESS = new Set(["secret_not_found", "bad_credentials_secret", "invalid_checkpoint"]);

/** The platform bills what it keeps: checkpoints in the user's own S3 bucket are their provider's. */
export function billedHere(spec: Pick<JobSpec, "checkpoint">): boolean {
  return !spec.checkpoint?.s3;
}

/** When the sweep deletes an ended job's checkpoints; expired pauses go at once. */
export function keptUntil(env: Env, job: EndedJob): number | null {
  if (job.endedAt === null) return null;
  if (job.reason?.startsWith(PAUSE_EXPIRED)) return job.endedAt;
  return job.endedAt + checkpointRetentionOf(env).retentionMs;
}

/**
 * The charge for keeping `bytes` from the job's end until `now` (at most the retention), or none:
 * for a job still running or paused (a pause is billed by the region, job-pause.ts), an expired pause
 * (billed to its expiry), or a store the user pays for.
 */
export function retentionCharge(
  env: Env,
  job: EndedJob,
  bytes: number,
  now: number,
): StorageCharge | undefined {
  const until = keptUntil(env, job);
  if (job.endedAt === null || until === null || !billedHere(job.spec)) return undefined;
  const toMs = Math.max(job.endedAt, Math.min(now, until));
  const { microsPerGbMonth } = checkpointRetentionOf(env);
  return {
    accountId: job.accountId,
    jobId: job.jobId,
    key: `storage:${job.jobId}:ended`,
    bytes,
    fromMs: job.endedAt,
    toMs,
    amountMicros: storageChargeMicros(bytes, job.endedAt, toMs, microsPerGbMonth),
  };
}

/**
 * Deletes an ended job's checkpoints: every blob and manifest under its prefix (R2, or the user's
 * S3 bucket with the credentials the job named), then, in one D1 batch, the storage charge for
 * the time kept and the checkpoint rows. Used by the cron sweep and by DELETE /v1/jobs/:id/checkpoints.
 * With `forgetHopeless` (the sweep), a bucket whose credentials are gone is given up on: the rows go
 * (nothing can reach those objects any more); otherwise that error is the caller's.
 */
export async function deleteJobCheckpoints(
  env: Env,
  job: EndedJob,
  now: number,
  options: { forgetHopeless?: boolean } = {},
): Promise<CheckpointsDeleted> {
  const bytes = await checkpointBytes(env, job.jobId);
  let objects = 0;
  try {
    // The origin only makes URLs, and none are made here.
    const place = await openCheckpointPlace(env, "https://sweep.invalid", job);
    objects = await place.target.deletePrefix(`${place.prefix}/`);
  } catch (error) {
    if (!(options.forgetHopeless && error instanceof MeridianError && HOPELESS.has(error.code))) throw error;
  }
  const db = drizzle(env.DB);
  const charge = retentionCharge(env, job, bytes, now);
  await runBatch(db, [
    ...(charge && charge.amountMicros > 0 ? storageChargeStatements(db, charge, now) : []),
    db.delete(jobCheckpoints).where(eq(jobCheckpoints.jobId, job.jobId)),
    db.delete(jobCheckpointBlobs).where(eq(jobCheckpointBlobs.jobId, job.jobId)),
    forgetOrphanCheck(db, job.jobId),
  ]);
  // What was moved: the batch caps a charge at the balance.
  const moved = charge
    ? await db
        .select({ micros: ledgerTransfers.amountMicros })
        .from(ledgerTransfers)
        .where(and(eq(ledgerTransfers.kind, "storage"), eq(ledgerTransfers.idempotencyKey, charge.key)))
        .get()
    : undefined;
  return { jobId: job.jobId, objects, bytes, chargedMicros: moved?.micros ?? 0 };
}
