import { Hono } from "hono";
import { LogsQuery } from "../../shared/api.js";
import { MeridianError } from "../../shared/errors.js";
import { isTerminal, type JobStatus } from "../../shared/job-status.js";
import { type LogBatchFrame, LogFrameReader } from "../../shared/log-frames.js";
import type { AppEnv } from "../hono-env.js";
import { ownJob } from "../job-records.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { jobStub } from "../region-routing.js";
import { logRetentionMs, logsExpired, storedChunks } from "../storage/log-store.js";

/** A followed stream ends after this long; the client reconnects (the CLI does) to keep following. */
const FOLLOW_MAX_MS = 15 * 60_000;

const yes = (flag: string | undefined): boolean => flag === "1" || flag === "true";

/** Reads a frame stream until `end`, the deadline, or the stream's own end. */
async function* framesOf(
  stream: ReadableStream<Uint8Array>,
  deadline: number,
): AsyncGenerator<LogBatchFrame> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const frames = new LogFrameReader();
  try {
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), left);
      });
      const next = await Promise.race([reader.read(), timeout]);
      clearTimeout(timer);
      if (next === "timeout" || next.done) return;
      for (const frame of frames.push(decoder.decode(next.value, { stream: true }))) {
        if ("end" in frame) return;
        yield frame;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * GET /v1/jobs/:id/logs: the container's output as text, read from its chunk objects in R2;
 * `?download=1` as a file; `?follow=1` goes on with the batches the Region object pushes as they
 * are stored, until the job ends.
 */
export const jobLogRoutes = new Hono<AppEnv>().get(
  "/:id/logs",
  doc({
    id: "jobLogs",
    tag: "Jobs",
    summary: "A job's logs",
    description:
      "The container's output as text, every attempt's in order. With `follow=1` the answer goes on as batches arrive (pushed by the job's region, not polled) and ends when the job ends (or after 15 minutes: reconnect to keep following). With `download=1` it is a file to save. Logs are kept for `LOG_RETENTION_DAYS` (default 30) after the job ends; then 410.",
    query: LogsQuery,
    response: { contentType: "text/plain", description: "The log text, as written by the container" },
    errors: [410],
  }),
  async (c) => {
    const query = queryOf(c, LogsQuery);
    const row = await ownJob(c.env.DB, c.get("accountId"), c.req.param("id"));
    if (logsExpired(row, logRetentionMs(c.env), Date.now())) {
      throw new MeridianError(
        410,
        "logs_expired",
        `the job ended over ${Math.round(logRetentionMs(c.env) / 86_400_000)} days ago; its logs are no longer kept`,
      );
    }
    const follow = yes(query.follow);
    // identity: a compressed stream (workerd gzips for browsers) is held back until it ends.
    const headers: Record<string, string> = {
      "content-type": "text/plain; charset=utf-8",
      "cache-control": "no-store, no-transform",
      "content-encoding": "identity",
    };
    if (yes(query.download) && !follow) {
      const name = query.attempt ? `${row.id}-${query.attempt}` : row.id;
      headers["content-disposition"] = `attachment; filename="${name.replace(/[^\w.-]/g, "_")}.log"`;
    }
    // Subscribed before the stored chunks are read: a batch stored meanwhile is in one or both,
    // never in neither; its seq says when it was already sent.
    const live =
      follow && !isTerminal(row.status as JobStatus)
        ? await jobStub(c.env, row.region, row.id).followLogs(row.id)
        : undefined;
    const env = c.env;
    const encoder = new TextEncoder();
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const writer = writable.getWriter();
    const pump = async (): Promise<void> => {
      const sent = new Set<number>();
      try {
        for await (const chunk of storedChunks(env, row.id, query.attempt)) {
          sent.add(chunk.seq);
          await writer.write(encoder.encode(chunk.data));
        }
        if (live) {
          for await (const frame of framesOf(live, Date.now() + FOLLOW_MAX_MS)) {
            if (sent.has(frame.seq) || (query.attempt && frame.attemptId !== query.attempt)) continue;
            await writer.write(encoder.encode(frame.data));
          }
        }
        await writer.close();
      } catch (error) {
        // The client went away, or storage failed mid-stream: end the stream; nothing is left to answer.
        console.error(JSON.stringify({ msg: "log stream ended early", jobId: row.id, error: String(error) }));
        await writer.abort(error).catch(() => undefined);
        await live?.cancel().catch(() => undefined);
      }
    };
    c.executionCtx.waitUntil(pump());
    return new Response(readable, { headers });
  },
);
