import { and, eq, gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { jobLogs, jobs } from "../../../schema/tables.js";
import { LogsQuery } from "../../shared/api.js";
import { isTerminal, type JobStatus } from "../../shared/job-status.js";
import type { AppEnv } from "../hono-env.js";
import { ownJob } from "../job-records.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";

const FOLLOW_POLL_MS = 250;
/** A followed stream ends after this long; the client reconnects (the CLI does) to keep following. */
const FOLLOW_MAX_MS = 15 * 60_000;
const PAGE = 200;

async function logsAfter(
  database: D1Database,
  jobId: string,
  afterId: number,
  attemptId: string | undefined,
) {
  const conditions = [eq(jobLogs.jobId, jobId), gt(jobLogs.id, afterId)];
  if (attemptId) conditions.push(eq(jobLogs.attemptId, attemptId));
  return drizzle(database)
    .select({ id: jobLogs.id, data: jobLogs.data })
    .from(jobLogs)
    .where(and(...conditions))
    .orderBy(jobLogs.id)
    .limit(PAGE)
    .all();
}

async function jobStatus(database: D1Database, jobId: string): Promise<JobStatus | undefined> {
  const row = await drizzle(database)
    .select({ status: jobs.status })
    .from(jobs)
    .where(eq(jobs.id, jobId))
    .get();
  return row?.status as JobStatus | undefined;
}

/** GET /v1/jobs/:id/logs: the container's output as text; `?follow=1` streams until the job ends. */
export const jobLogRoutes = new Hono<AppEnv>().get(
  "/:id/logs",
  doc({
    id: "jobLogs",
    tag: "Jobs",
    summary: "A job's logs",
    description:
      "The container's output as text. With `follow=1` the answer streams as lines arrive and ends when the job ends (or after 15 minutes: reconnect to keep following).",
    query: LogsQuery,
    response: { contentType: "text/plain", description: "The log text, as written by the container" },
  }),
  async (c) => {
    const query = queryOf(c, LogsQuery);
    const row = await ownJob(c.env.DB, c.get("accountId"), c.req.param("id"));
    const follow = query.follow === "1" || query.follow === "true";
    // identity: a compressed stream (workerd gzips for browsers) is held back until it ends.
    const headers = {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store, no-transform",
      "content-encoding": "identity",
    };
    if (!follow) {
      let text = "";
      let after = 0;
      for (;;) {
        const page = await logsAfter(c.env.DB, row.id, after, query.attempt);
        for (const entry of page) text += entry.data;
        const last = page.at(-1);
        if (!last || page.length < PAGE) break;
        after = last.id;
      }
      return new Response(text, { headers });
    }
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const encoder = new TextEncoder();
    const database = c.env.DB;
    const pump = async (): Promise<void> => {
      const deadline = Date.now() + FOLLOW_MAX_MS;
      let after = 0;
      try {
        while (Date.now() < deadline) {
          // Read the status before the logs: logs written before the job ended are then all seen.
          const status = await jobStatus(database, row.id);
          const page = await logsAfter(database, row.id, after, query.attempt);
          for (const entry of page) await writer.write(encoder.encode(entry.data));
          const last = page.at(-1);
          if (last) after = last.id;
          if (page.length === PAGE) continue;
          if (!status || isTerminal(status)) break;
          await new Promise((resolve) => setTimeout(resolve, FOLLOW_POLL_MS));
        }
        await writer.close();
      } catch (error) {
        // The client went away, or D1 failed mid-stream: end the stream; nothing is left to answer.
        console.error(JSON.stringify({ msg: "log follow ended early", jobId: row.id, error: String(error) }));
        await writer.abort(error).catch(() => undefined);
      }
    };
    c.executionCtx.waitUntil(pump());
    return new Response(readable, { headers });
  },
);
