import { and, desc, eq, lt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { jobEvents, jobs } from "../../../schema/tables.js";
import type { SubmitOutcome } from "../../durable/region-records.js";
import { unwrap } from "../../durable/rpc-result.js";
import { type JobCost, jobCosts } from "../../ledger/job-cost.js";
import { JobEventList, JobList, JobListQuery, JobView, type PlacementExplanation } from "../../shared/api.js";
import { MeridianError } from "../../shared/errors.js";
import { JobSpec } from "../../shared/job-spec.js";
import { isTerminal, type JobStatus } from "../../shared/job-status.js";
import { secretNamesOf } from "../../shared/storage/env-secrets.js";
import { requireReachable } from "../feasibility.js";
import type { AppEnv } from "../hono-env.js";
import { ownJob } from "../job-records.js";
import { jobView } from "../job-view.js";
import { jsonBody, queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_JOB_SPEC, SAMPLE_JOB_VIEW } from "../openapi/sample-bodies.js";
import { regionExplanations, submitToRegion } from "../region-coordinator.js";
import { chooseRegion, jobStub } from "../region-routing.js";
import { requireSecrets } from "../storage/secret-store.js";
import { checkStorageEndpoints } from "../storage/targets.js";
import { jobCheckpointRoutes } from "./job-checkpoints.js";
import { jobEventStreamRoutes } from "./job-event-stream.js";
import { jobLogRoutes } from "./job-logs.js";
import { jobOutputRoutes } from "./job-outputs.js";
import { jobPauseRoutes } from "./job-pause.js";

/** Why each queued job among these rows waits, one call per region (per shard that holds them). */
async function explanations(
  env: Env,
  rows: { id: string; region: string; status: string }[],
): Promise<Record<string, PlacementExplanation>> {
  const byRegion = new Map<string, string[]>();
  for (const row of rows) {
    if (row.status !== "queued") continue;
    byRegion.set(row.region, [...(byRegion.get(row.region) ?? []), row.id]);
  }
  const answers = await Promise.all(
    [...byRegion].map(([region, ids]) => regionExplanations(env, region, ids)),
  );
  return Object.assign({}, ...answers);
}

const NO_COST: JobCost = { chargedMicros: 0, heldMicros: 0 };

async function costOf(env: Env, jobId: string): Promise<JobCost> {
  return (await jobCosts(drizzle(env.DB), [jobId])).get(jobId) ?? NO_COST;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function idempotencyKeyOf(header: string | undefined): string | undefined {
  if (header !== undefined && !IDEMPOTENCY_KEY.test(header)) {
    throw new MeridianError(
      400,
      "invalid_idempotency_key",
      "Idempotency-Key must be 1-255 printable ASCII characters",
    );
  }
  return header;
}

export const jobRoutes = new Hono<AppEnv>()
  .post(
    "/",
    doc({
      id: "submitJob",
      tag: "Jobs",
      summary: "Submit a job",
      description:
        "Validates the spec, holds its worst-case cost on the balance, and queues it in its region. Honours `Idempotency-Key`. A queued job's `explanation` says why it waits and what would place it.",
      body: JobSpec,
      bodyExample: SAMPLE_JOB_SPEC,
      response: { status: 201, schema: JobView, example: SAMPLE_JOB_VIEW },
      errors: [402, 403, 409, 422, 429, 503],
    }),
    async (c) => {
      const spec = await jsonBody(c, JobSpec);
      const idempotencyKey = idempotencyKeyOf(c.req.header("idempotency-key"));
      await requireSecrets(c.env.DB, c.get("accountId"), secretNamesOf(spec));
      checkStorageEndpoints(c.env, spec);
      requireReachable(c.env, spec);
      const region = chooseRegion(c, spec.region);
      const accountId = c.get("accountId");
      // One call: the region admits the job (row, hold), queues it and places it if it fits.
      let submitted: SubmitOutcome;
      try {
        submitted = await submitToRegion(c.env, region, { accountId, spec, idempotencyKey });
      } catch (error) {
        if (error instanceof MeridianError) throw error;
        console.error(JSON.stringify({ msg: "region did not take the job", region, error: String(error) }));
        throw new MeridianError(
          503,
          "region_unavailable",
          `region ${region} is unavailable; submit again (with the same Idempotency-Key, it is not submitted twice)`,
        );
      }
      // A new job's row and cost are what the region just wrote (its answer waited for those
      // records): nothing read back from D1. A replay reads both.
      const row = submitted.row ?? (await ownJob(c.env.DB, accountId, submitted.jobId));
      if (submitted.replayed) c.header("Idempotent-Replayed", "true");
      const cost =
        submitted.heldMicros === null
          ? await costOf(c.env, row.id)
          : { chargedMicros: 0, heldMicros: submitted.heldMicros };
      return c.json(jobView(row, cost, submitted.explanation ?? undefined), 201);
    },
  )
  .get(
    "/",
    doc({
      id: "listJobs",
      tag: "Jobs",
      summary: "List jobs",
      description: "The caller's jobs, newest first; `status` filters, `cursor` pages.",
      query: JobListQuery,
      response: { schema: JobList, example: { jobs: [SAMPLE_JOB_VIEW], nextCursor: null } },
    }),
    async (c) => {
      const query = queryOf(c, JobListQuery);
      const accountId = c.get("accountId");
      const conditions = [eq(jobs.accountId, accountId)];
      if (query.status) conditions.push(eq(jobs.status, query.status));
      if (query.cursor) conditions.push(lt(jobs.id, query.cursor));
      const rows = await drizzle(c.env.DB)
        .select()
        .from(jobs)
        .where(and(...conditions))
        .orderBy(desc(jobs.id))
        .limit(query.limit + 1)
        .all();
      const page = rows.slice(0, query.limit);
      const [reasons, costs] = await Promise.all([
        explanations(c.env, page),
        jobCosts(
          drizzle(c.env.DB),
          page.map((row) => row.id),
        ),
      ]);
      const last = page.at(-1);
      return c.json({
        jobs: page.map((row) => jobView(row, costs.get(row.id) ?? NO_COST, reasons[row.id])),
        nextCursor: rows.length > query.limit && last ? last.id : null,
      });
    },
  )
  .get(
    "/:id",
    doc({
      id: "getJob",
      tag: "Jobs",
      summary: "A job",
      description: "Its state, reason, cost so far and, while queued, the placement explanation.",
      response: { schema: JobView, example: SAMPLE_JOB_VIEW },
    }),
    async (c) => {
      const row = await ownJob(c.env.DB, c.get("accountId"), c.req.param("id"));
      const reasons = await explanations(c.env, [row]);
      return c.json(jobView(row, await costOf(c.env, row.id), reasons[row.id]));
    },
  )
  .get(
    "/:id/events",
    doc({
      id: "listJobEvents",
      tag: "Jobs",
      summary: "A job's status timeline",
      response: {
        schema: JobEventList,
        example: {
          events: [
            {
              seq: 1,
              status: "queued",
              reason: null,
              at: "2026-12-01T08:00:00.000Z",
              attemptId: null,
              nodeId: null,
            },
          ],
        },
      },
    }),
    async (c) => {
      const row = await ownJob(c.env.DB, c.get("accountId"), c.req.param("id"));
      const events = await drizzle(c.env.DB)
        .select()
        .from(jobEvents)
        .where(eq(jobEvents.jobId, row.id))
        .orderBy(jobEvents.seq)
        .all();
      return c.json({
        events: events.map((event) => ({
          seq: event.seq,
          status: event.status,
          reason: event.reason,
          at: new Date(event.at).toISOString(),
          attemptId: event.attemptId,
          nodeId: event.nodeId,
        })),
      });
    },
  )
  .post(
    "/:id/cancel",
    doc({
      id: "cancelJob",
      tag: "Jobs",
      summary: "Cancel a job",
      description: "Stops its attempt; the hold is released and only time run is charged.",
      response: { schema: JobView, example: { ...SAMPLE_JOB_VIEW, status: "cancelled" } },
      errors: [409],
    }),
    async (c) => {
      const accountId = c.get("accountId");
      const row = await ownJob(c.env.DB, accountId, c.req.param("id"));
      if (isTerminal(row.status as JobStatus)) {
        throw new MeridianError(409, "job_finished", `the job has already ended (${row.status})`);
      }
      unwrap(await jobStub(c.env, row.region, row.id).cancel(row.id));
      return c.json(jobView(await ownJob(c.env.DB, accountId, row.id), await costOf(c.env, row.id)));
    },
  )
  .route("/", jobLogRoutes)
  .route("/", jobOutputRoutes)
  .route("/", jobPauseRoutes)
  .route("/", jobCheckpointRoutes)
  .route("/", jobEventStreamRoutes);
