import { drizzle } from "drizzle-orm/d1";
import { type Context, Hono } from "hono";
import { unwrap } from "../../durable/rpc-result.js";
import { type JobCost, jobCosts } from "../../ledger/job-cost.js";
import { JobView } from "../../shared/api.js";
import { MeridianError } from "../../shared/errors.js";
import { isTerminal, type JobStatus } from "../../shared/job-status.js";
import { PauseRequest, pausePolicyOf } from "../../shared/storage/pause-api.js";
import type { AppEnv } from "../hono-env.js";
import { ownJob } from "../job-records.js";
import { jobView } from "../job-view.js";
import { parseJsonText, parseOrThrow, readText } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_JOB_VIEW } from "../openapi/sample-bodies.js";
import { jobStub } from "../region-routing.js";

async function viewOf(c: Context<AppEnv>, jobId: string) {
  const cost: JobCost = (await jobCosts(drizzle(c.env.DB), [jobId])).get(jobId) ?? {
    chargedMicros: 0,
    heldMicros: 0,
  };
  return jobView(await ownJob(c.env.DB, c.get("accountId"), jobId), cost);
}

/** The pause body is optional: none (or an empty one) keeps the deployment's default. */
async function pauseBody(c: Context<AppEnv>): Promise<PauseRequest> {
  const text = await readText(c);
  if (text.trim() === "") return {};
  return parseOrThrow(PauseRequest, parseJsonText(text), "request body");
}

/** POST /v1/jobs/:id/pause and /resume. */
export const jobPauseRoutes = new Hono<AppEnv>()
  .post(
    "/:id/pause",
    doc({
      id: "pauseJob",
      tag: "Jobs",
      summary: "Pause a running job",
      description:
        "Its containers get SIGTERM and the grace period to write their checkpoint, which is synced; then the GPUs are released and GPU billing stops (status `paused`). The kept checkpoint is billed per GB-month until the job is resumed or cancelled; a paused job not resumed within `keepForSeconds` (default: the deployment's) ends as cancelled. Only a running job with a checkpoint folder can be paused.",
      body: PauseRequest,
      bodyExample: { keepForSeconds: 86_400 },
      response: { schema: JobView, example: SAMPLE_JOB_VIEW },
      errors: [409, 422],
    }),
    async (c) => {
      const row = await ownJob(c.env.DB, c.get("accountId"), c.req.param("id"));
      const body = await pauseBody(c);
      const policy = pausePolicyOf(c.env);
      const keep = body.keepForSeconds ?? policy.keepSeconds;
      if (keep > policy.maxKeepSeconds) {
        throw new MeridianError(
          422,
          "keep_too_long",
          `a paused job is kept at most ${policy.maxKeepSeconds} s here (asked ${keep} s)`,
        );
      }
      if (isTerminal(row.status as JobStatus)) {
        throw new MeridianError(409, "job_finished", `the job has already ended (${row.status})`);
      }
      unwrap(
        await jobStub(c.env, row.region, row.id).pause(row.id, {
          expiresAt: Date.now() + keep * 1000,
          storageMicrosPerGbMonth: policy.storageMicrosPerGbMonth,
        }),
      );
      return c.json(await viewOf(c, row.id), 202);
    },
  )
  .post(
    "/:id/resume",
    doc({
      id: "resumeJob",
      tag: "Jobs",
      summary: "Resume a paused job",
      description:
        "Queues it again for any node that fits (not only the one it ran on); the new attempt restores the latest checkpoint before its container starts, with MERIDIAN_RESUMED=1.",
      response: { schema: JobView, example: { ...SAMPLE_JOB_VIEW, status: "queued" } },
      errors: [409],
    }),
    async (c) => {
      const row = await ownJob(c.env.DB, c.get("accountId"), c.req.param("id"));
      // The region decides (its record is ahead of the row while D1 catches up).
      unwrap(await jobStub(c.env, row.region, row.id).resume(row.id));
      return c.json(await viewOf(c, row.id));
    },
  );
