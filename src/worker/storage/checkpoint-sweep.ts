import { and, eq, isNotNull, like } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobCheckpoints } from "../../../schema/storage.js";
import { jobs } from "../../../schema/tables.js";
import { PAUSE_EXPIRED } from "../../durable/job-pause.js";
import { MeridianError } from "../../shared/errors.js";
import type { JobSpec } from "../../shared/job-spec.js";
import { openCheckpointPlace } from "./checkpoint-place.js";

/** Failures no later sweep can mend: the credentials of the user's bucket are gone or unusable. */
const HOPELESS = new Set(["secret_not_found", "bad_credentials_secret", "invalid_checkpoint"]);

/**
 * The cron's pass over checkpoints nobody can use any more: those of paused jobs that expired
 * (ended `paused_expired`, never resumed). Their blobs and manifests are deleted from wherever they
 * were kept (R2, or the user's S3 bucket with the credentials the job named), then their D1 rows.
 * A store that fails is tried again next minute; one whose credentials are gone is forgotten.
 */
export async function sweepExpiredCheckpoints(
  env: Env,
  limit = 20,
): Promise<{ jobs: number; objects: number }> {
  const db = drizzle(env.DB);
  const expired = await db
    .selectDistinct({ jobId: jobs.id, accountId: jobs.accountId, spec: jobs.spec })
    .from(jobCheckpoints)
    .innerJoin(jobs, eq(jobs.id, jobCheckpoints.jobId))
    .where(and(isNotNull(jobs.endedAt), like(jobs.reason, `${PAUSE_EXPIRED}%`)))
    .limit(limit)
    .all();
  let objects = 0;
  let swept = 0;
  for (const job of expired) {
    try {
      // The origin only makes URLs, and none are made here.
      const place = await openCheckpointPlace(env, "https://sweep.invalid", {
        jobId: job.jobId,
        accountId: job.accountId,
        spec: job.spec as JobSpec,
      });
      objects += await place.target.deletePrefix(`${place.prefix}/`);
    } catch (error) {
      if (!(error instanceof MeridianError && HOPELESS.has(error.code))) {
        console.warn(`checkpoint sweep: job ${job.jobId}: ${String(error).slice(0, 300)}`);
        continue;
      }
    }
    await db.delete(jobCheckpoints).where(eq(jobCheckpoints.jobId, job.jobId));
    swept++;
  }
  return { jobs: swept, objects };
}
