import { desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type Context, Hono } from "hono";
import { jobCheckpoints } from "../../../schema/storage.js";
import { MeridianError } from "../../shared/errors.js";
import type { JobSpec } from "../../shared/job-spec.js";
import { isTerminal, type JobStatus } from "../../shared/job-status.js";
import {
  CheckpointsDeleted,
  checkpointRetentionOf,
  JobCheckpoints,
} from "../../shared/storage/checkpoint-retention.js";
import type { AppEnv } from "../hono-env.js";
import { ownJob } from "../job-records.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_IDS } from "../openapi/sample-bodies.js";
import {
  deleteJobCheckpoints,
  type EndedJob,
  keptUntil,
  retentionCharge,
} from "../storage/checkpoint-retention.js";
import { checkpointBytes } from "../storage/checkpoint-store.js";

async function endedJobOf(c: Context<AppEnv>): Promise<{ job: EndedJob; status: JobStatus }> {
  const row = await ownJob(c.env.DB, c.get("accountId"), c.req.param("id") ?? "");
  return {
    job: {
      jobId: row.id,
      accountId: row.accountId,
      spec: row.spec as JobSpec,
      endedAt: row.endedAt,
      reason: row.reason,
    },
    status: row.status as JobStatus,
  };
}

/** GET and DELETE /v1/jobs/:id/checkpoints: what is kept, until when, at what cost; delete early. */
export const jobCheckpointRoutes = new Hono<AppEnv>()
  .get(
    "/:id/checkpoints",
    doc({
      id: "listJobCheckpoints",
      tag: "Jobs",
      summary: "A job's checkpoints",
      description:
        "The committed checkpoints, the latest one's size, the bytes all of them hold stored together (each distinct blob once, and every manifest: what is billed), and once the job has ended how long they are kept (the deployment's `CHECKPOINT_RETENTION_SECONDS`, a week by default) and what keeping them has cost so far. In the platform's R2 they are billed per GB-month from the job's end until deleted; in the user's own S3 bucket they are not billed here.",
      response: {
        schema: JobCheckpoints,
        example: {
          jobId: SAMPLE_IDS.job,
          store: "r2",
          bytes: 1_000_000_000,
          storedBytes: 1_400_000_000,
          keptUntil: "2026-12-08T08:00:00.000Z",
          accruedMicros: 3267,
          microsPerGbMonth: 70_000,
          checkpoints: [
            {
              seq: 1,
              attemptId: SAMPLE_IDS.attempt,
              files: 3,
              bytes: 1_000_000_000,
              createdAt: "2026-12-01T07:55:00.000Z",
            },
          ],
        },
      },
    }),
    async (c) => {
      const { job } = await endedJobOf(c);
      const rows = await drizzle(c.env.DB)
        .select()
        .from(jobCheckpoints)
        .where(eq(jobCheckpoints.jobId, job.jobId))
        .orderBy(desc(jobCheckpoints.seq))
        .all();
      const bytes = rows[0]?.bytes ?? 0;
      const storedBytes = rows.length > 0 ? await checkpointBytes(c.env, job.jobId) : 0;
      const until = rows.length > 0 ? keptUntil(c.env, job) : null;
      const body: JobCheckpoints = {
        jobId: job.jobId,
        store: job.spec.checkpoint?.s3 ? "s3" : "r2",
        bytes,
        storedBytes,
        keptUntil: until === null ? null : new Date(until).toISOString(),
        accruedMicros:
          rows.length > 0 ? (retentionCharge(c.env, job, storedBytes, Date.now())?.amountMicros ?? 0) : 0,
        microsPerGbMonth: checkpointRetentionOf(c.env).microsPerGbMonth,
        checkpoints: rows.map((row) => ({
          seq: row.seq,
          attemptId: row.attemptId,
          files: row.files,
          bytes: row.bytes,
          createdAt: new Date(row.createdAt).toISOString(),
        })),
      };
      return c.json(body);
    },
  )
  .delete(
    "/:id/checkpoints",
    doc({
      id: "deleteJobCheckpoints",
      tag: "Jobs",
      summary: "Delete an ended job's checkpoints now",
      description:
        "Deletes every checkpoint blob and manifest of a job that has ended, from R2 or the user's S3 bucket, before its retention is over; the time they were kept since the job ended is charged now. A running or paused job needs its checkpoint: cancel it first.",
      response: {
        schema: CheckpointsDeleted,
        example: { jobId: SAMPLE_IDS.job, objects: 4, bytes: 1_000_000_000, chargedMicros: 97 },
      },
      errors: [404, 409, 422],
    }),
    async (c) => {
      const { job, status } = await endedJobOf(c);
      if (!isTerminal(status) || job.endedAt === null) {
        throw new MeridianError(
          409,
          "job_not_ended",
          `the job is ${status} and needs its checkpoint; cancel it first to delete them`,
        );
      }
      const kept = await drizzle(c.env.DB)
        .select({ seq: jobCheckpoints.seq })
        .from(jobCheckpoints)
        .where(eq(jobCheckpoints.jobId, job.jobId))
        .limit(1)
        .get();
      if (!kept) throw new MeridianError(404, "no_checkpoint", "the job has no checkpoint kept");
      return c.json(await deleteJobCheckpoints(c.env, job, Date.now()));
    },
  );
