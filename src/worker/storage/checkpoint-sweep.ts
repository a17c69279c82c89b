import { and, eq, isNotNull, like, lte, or } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobCheckpoints } from "../../../schema/storage.js";
import { jobs } from "../../../schema/tables.js";
import { PAUSE_EXPIRED } from "../../durable/job-pause.js";
import type { JobSpec } from "../../shared/job-spec.js";
import { checkpointRetentionOf } from "../../shared/storage/checkpoint-retention.js";
import { deleteJobCheckpoints } from "./checkpoint-retention.js";
import { notBackingOff, sweepDone, sweepFailed } from "./sweep-backoff.js";

/**
 * The cron's pass over checkpoints nobody may keep any longer: those of jobs that ended more than
 * the retention ago (CHECKPOINT_RETENTION_SECONDS), and those of paused jobs that expired (ended
 * `paused_expired`, whose keep is over). Each is deleted from its store and charged for the time
 * kept (checkpoint-retention.ts). A store that fails is tried again after a backoff (a minute,
 * doubling to six hours: sweep-backoff.ts), so jobs that keep failing never fill a batch and hold
 * up the rest; one whose credentials are gone is forgotten.
 */
export async function sweepExpiredCheckpoints(
  env: Env,
  now = Date.now(),
  limit = 20,
): Promise<{ jobs: number; objects: number; failed: number }> {
  const db = drizzle(env.DB);
  const cutoff = now - checkpointRetentionOf(env).retentionMs;
  const due = await db
    .selectDistinct({
      jobId: jobs.id,
      accountId: jobs.accountId,
      spec: jobs.spec,
      endedAt: jobs.endedAt,
      reason: jobs.reason,
    })
    .from(jobCheckpoints)
    .innerJoin(jobs, eq(jobs.id, jobCheckpoints.jobId))
    .where(
      and(
        isNotNull(jobs.endedAt),
        or(lte(jobs.endedAt, cutoff), like(jobs.reason, `${PAUSE_EXPIRED}%`)),
        notBackingOff("checkpoints", jobs.id, now),
      ),
    )
    .limit(limit)
    .all();
  let objects = 0;
  let swept = 0;
  let failed = 0;
  for (const job of due) {
    try {
      const deleted = await deleteJobCheckpoints(env, { ...job, spec: job.spec as JobSpec }, now, {
        forgetHopeless: true,
      });
      objects += deleted.objects;
      swept++;
      await sweepDone(env, "checkpoints", job.jobId);
    } catch (error) {
      failed++;
      await sweepFailed(env, "checkpoints", job.jobId, error, now);
    }
  }
  return { jobs: swept, objects, failed };
}
