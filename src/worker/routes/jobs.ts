import { and, desc, eq, lt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { jobEvents, jobs } from "../../../schema/tables.js";
import { unwrap } from "../../durable/rpc-result.js";
import { JobListQuery } from "../../shared/api.js";
import { MeridianError } from "../../shared/errors.js";
import { newId } from "../../shared/ids.js";
import { JobSpec } from "../../shared/job-spec.js";
import { isTerminal, type JobStatus } from "../../shared/job-status.js";
import type { AppEnv } from "../hono-env.js";
import { ownJob } from "../job-records.js";
import { jobView } from "../job-view.js";
import { jsonBody, queryOf } from "../json-body.js";
import { chooseRegion, regionStub } from "../region-routing.js";
import { jobLogRoutes } from "./job-logs.js";

/** Pending reasons for the queued jobs among these rows, one call per region. */
async function pendingReasons(
  env: Env,
  rows: { id: string; region: string; status: string }[],
): Promise<Record<string, string>> {
  const byRegion = new Map<string, string[]>();
  for (const row of rows) {
    if (row.status !== "queued") continue;
    byRegion.set(row.region, [...(byRegion.get(row.region) ?? []), row.id]);
  }
  const answers = await Promise.all(
    [...byRegion].map(async ([region, ids]) => unwrap(await regionStub(env, region).pendingReasons(ids))),
  );
  return Object.assign({}, ...answers);
}

export const jobRoutes = new Hono<AppEnv>()
  .post("/", async (c) => {
    const spec = await jsonBody(c, JobSpec);
    const region = chooseRegion(c, spec.region);
    const now = Date.now();
    const id = newId("job", now);
    const accountId = c.get("accountId");
    const db = drizzle(c.env.DB);
    await db.batch([
      db.insert(jobs).values({
        id,
        accountId,
        name: spec.name,
        region,
        image: spec.image,
        spec,
        status: "queued",
        createdAt: now,
        updatedAt: now,
      }),
      db.insert(jobEvents).values({ jobId: id, seq: 1, status: "queued", reason: "submitted", at: now }),
    ]);
    let placed: { status: JobStatus; reason: string | null };
    try {
      placed = unwrap(
        await regionStub(c.env, region).submit(region, { id, accountId, spec, createdAt: now }),
      );
    } catch (error) {
      if (error instanceof MeridianError) throw error;
      console.error(
        JSON.stringify({ msg: "region did not take the job", jobId: id, region, error: String(error) }),
      );
      const reason = `region ${region} is unavailable; submit again`;
      await db.batch([
        db
          .update(jobs)
          .set({ status: "failed", reason, endedAt: now, updatedAt: now })
          .where(eq(jobs.id, id)),
        db
          .insert(jobEvents)
          .values({ jobId: id, seq: 2, status: "failed", reason, at: now })
          .onConflictDoNothing(),
      ]);
      throw new MeridianError(503, "region_unavailable", reason);
    }
    const row = await ownJob(c.env.DB, accountId, id);
    return c.json(jobView(row, row.status === "queued" ? (placed.reason ?? undefined) : undefined), 201);
  })
  .get("/", async (c) => {
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
    const reasons = await pendingReasons(c.env, page);
    const last = page.at(-1);
    return c.json({
      jobs: page.map((row) => jobView(row, reasons[row.id])),
      nextCursor: rows.length > query.limit && last ? last.id : null,
    });
  })
  .get("/:id", async (c) => {
    const row = await ownJob(c.env.DB, c.get("accountId"), c.req.param("id"));
    const reasons = await pendingReasons(c.env, [row]);
    return c.json(jobView(row, reasons[row.id]));
  })
  .get("/:id/events", async (c) => {
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
  })
  .post("/:id/cancel", async (c) => {
    const accountId = c.get("accountId");
    const row = await ownJob(c.env.DB, accountId, c.req.param("id"));
    if (isTerminal(row.status as JobStatus)) {
      throw new MeridianError(409, "job_finished", `the job has already ended (${row.status})`);
    }
    unwrap(await regionStub(c.env, row.region).cancel(row.id));
    return c.json(jobView(await ownJob(c.env.DB, accountId, row.id)));
  })
  .route("/", jobLogRoutes);
