import { and, asc, eq, gt } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { jobEvents } from "../../../schema/tables.js";
import type { JobEventView } from "../../shared/api.js";
import { isTerminal, type JobStatus } from "../../shared/job-status.js";
import type { AppEnv } from "../hono-env.js";
import { ownJob } from "../job-records.js";
import { doc } from "../openapi/route-doc.js";

const POLL_MS = 250;
/** A stream ends after this long; the console reconnects from the last seq it saw. */
const MAX_MS = 15 * 60_000;

type EventRow = typeof jobEvents.$inferSelect;

function eventView(row: EventRow): JobEventView {
  return {
    seq: row.seq,
    status: row.status as JobStatus,
    reason: row.reason,
    at: new Date(row.at).toISOString(),
    attemptId: row.attemptId,
    nodeId: row.nodeId,
  };
}

/**
 * GET /v1/jobs/:id/events/stream: the job's status events as newline-delimited JSON, the recorded
 * ones first, then each as it is recorded, until the job ends. What the console's job page
 * follows, so state changes arrive as they happen rather than on a timer.
 */
export const jobEventStreamRoutes = new Hono<AppEnv>().get(
  "/:id/events/stream",
  doc({
    id: "streamJobEvents",
    tag: "Jobs",
    summary: "Follow a job's status events",
    description:
      "Newline-delimited JSON, one JobEventView per line: the events so far, then each as it is recorded. Ends after the job's final event (or after 15 minutes: reconnect).",
    response: { contentType: "application/x-ndjson", description: "One event per line" },
  }),
  async (c) => {
    const job = await ownJob(c.env.DB, c.get("accountId"), c.req.param("id"));
    const database = c.env.DB;
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const encoder = new TextEncoder();
    const pump = async (): Promise<void> => {
      const deadline = Date.now() + MAX_MS;
      let after = 0;
      try {
        while (Date.now() < deadline) {
          const rows = await drizzle(database)
            .select()
            .from(jobEvents)
            .where(and(eq(jobEvents.jobId, job.id), gt(jobEvents.seq, after)))
            .orderBy(asc(jobEvents.seq))
            .all();
          for (const row of rows) {
            await writer.write(encoder.encode(`${JSON.stringify(eventView(row))}\n`));
            after = row.seq;
          }
          const last = rows.at(-1);
          if (last && isTerminal(last.status as JobStatus)) break;
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
        await writer.close();
      } catch (error) {
        // The client went away, or D1 failed mid-stream: end the stream; nothing is left to answer.
        console.error(
          JSON.stringify({ msg: "event follow ended early", jobId: job.id, error: String(error) }),
        );
        await writer.abort(error).catch(() => undefined);
      }
    };
    c.executionCtx.waitUntil(pump());
    // identity: a compressed stream (workerd gzips for browsers) is held back until it ends.
    return new Response(readable, {
      headers: {
        "content-type": "application/x-ndjson; charset=utf-8",
        "cache-control": "no-store, no-transform",
        "content-encoding": "identity",
      },
    });
  },
);
