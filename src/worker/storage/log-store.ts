import { and, asc, eq, gt, inArray, isNotNull, lt, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { logChunks } from "../../../schema/storage.js";
import { jobLogs, jobs } from "../../../schema/tables.js";
import type { LogOffsets } from "../../shared/agent-protocol.js";

/**
 * Reading a job's stored logs: the chunk objects in R2, found through their D1 index, in seq order.
 * Jobs from before logs went to R2 still have theirs as D1 rows (`job_logs`), read the old way.
 */

const PAGE = 200;
const DAY_MS = 86_400_000;
export const DEFAULT_LOG_RETENTION_DAYS = 30;

/** How long logs stay readable after their job ended (`LOG_RETENTION_DAYS`). */
export function logRetentionMs(env: object): number {
  const days = Number((env as Record<string, unknown>).LOG_RETENTION_DAYS);
  return (Number.isFinite(days) && days > 0 ? days : DEFAULT_LOG_RETENTION_DAYS) * DAY_MS;
}

export interface StoredChunk {
  seq: number;
  attemptId: string;
  data: string;
}

/** The job's stored chunks (of one attempt, if named), each with its text, oldest first. */
export async function* storedChunks(
  env: Pick<Env, "DB" | "STORAGE">,
  jobId: string,
  attemptId?: string,
): AsyncGenerator<StoredChunk> {
  const db = drizzle(env.DB);
  let after = 0;
  let any = false;
  for (;;) {
    const conditions = [eq(logChunks.jobId, jobId), gt(logChunks.seq, after)];
    if (attemptId) conditions.push(eq(logChunks.attemptId, attemptId));
    const page = await db
      .select({ seq: logChunks.seq, attemptId: logChunks.attemptId, key: logChunks.key })
      .from(logChunks)
      .where(and(...conditions))
      .orderBy(asc(logChunks.seq))
      .limit(PAGE)
      .all();
    for (const entry of page) {
      any = true;
      const object = await env.STORAGE.get(entry.key);
      // An index row whose object is gone (deleted by retention meanwhile) is skipped.
      if (object) yield { seq: entry.seq, attemptId: entry.attemptId, data: await object.text() };
      after = entry.seq;
    }
    if (page.length < PAGE) break;
  }
  if (!any) yield* legacyRows(env.DB, jobId, attemptId);
}

async function* legacyRows(
  database: D1Database,
  jobId: string,
  attemptId?: string,
): AsyncGenerator<StoredChunk> {
  const db = drizzle(database);
  let after = 0;
  for (;;) {
    const conditions = [eq(jobLogs.jobId, jobId), gt(jobLogs.id, after)];
    if (attemptId) conditions.push(eq(jobLogs.attemptId, attemptId));
    const page = await db
      .select({ id: jobLogs.id, attemptId: jobLogs.attemptId, data: jobLogs.data })
      .from(jobLogs)
      .where(and(...conditions))
      .orderBy(asc(jobLogs.id))
      .limit(PAGE)
      .all();
    // Legacy rows never meet live frames (those are chunks), so their seq is only for order.
    for (const row of page) yield { seq: -row.id, attemptId: row.attemptId, data: row.data };
    const last = page.at(-1);
    if (!last || page.length < PAGE) return;
    after = last.id;
  }
}

/**
 * How many bytes (UTF-8) of each stream of an attempt's output are stored: where a re-attached
 * agent resumes the container's output, so no line is stored twice or lost.
 */
export async function storedLogOffsets(
  database: D1Database,
  jobId: string,
  attemptId: string,
): Promise<LogOffsets> {
  const db = drizzle(database);
  const [chunks, legacy] = await Promise.all([
    db
      .select({
        stdout: sql<number>`coalesce(sum(${logChunks.stdoutBytes}), 0)`,
        stderr: sql<number>`coalesce(sum(${logChunks.stderrBytes}), 0)`,
      })
      .from(logChunks)
      .where(and(eq(logChunks.jobId, jobId), eq(logChunks.attemptId, attemptId)))
      .get(),
    db
      .select({
        stream: jobLogs.stream,
        bytes: sql<number>`coalesce(sum(length(cast(${jobLogs.data} as blob))), 0)`,
      })
      .from(jobLogs)
      .where(and(eq(jobLogs.jobId, jobId), eq(jobLogs.attemptId, attemptId)))
      .groupBy(jobLogs.stream),
  ]);
  const offsets: LogOffsets = { stdout: Number(chunks?.stdout ?? 0), stderr: Number(chunks?.stderr ?? 0) };
  for (const row of legacy)
    if (row.stream === "stdout" || row.stream === "stderr") offsets[row.stream] += Number(row.bytes);
  return offsets;
}

/** True when the job ended longer ago than logs are kept: they are gone (or about to be). */
export function logsExpired(row: { endedAt: number | null }, retentionMs: number, now: number): boolean {
  return row.endedAt !== null && row.endedAt < now - retentionMs;
}

/**
 * Deletes the logs of jobs that ended longer ago than the retention: their chunk objects, then
 * their index rows (and the old D1 rows). Bounded per run; the cron runs it every minute.
 */
export async function sweepExpiredLogs(
  env: Pick<Env, "DB" | "STORAGE">,
  now: number,
  limit = 500,
): Promise<{ chunks: number }> {
  const cutoff = now - logRetentionMs(env);
  const db = drizzle(env.DB);
  const expired = await db
    .select({
      jobId: logChunks.jobId,
      attemptId: logChunks.attemptId,
      seq: logChunks.seq,
      key: logChunks.key,
    })
    .from(logChunks)
    .innerJoin(jobs, eq(jobs.id, logChunks.jobId))
    .where(and(isNotNull(jobs.endedAt), lt(jobs.endedAt, cutoff)))
    .limit(limit)
    .all();
  if (expired.length > 0) {
    await env.STORAGE.delete(expired.map((chunk) => chunk.key));
    const [first, ...rest] = expired.map((chunk) =>
      db.delete(logChunks).where(and(eq(logChunks.attemptId, chunk.attemptId), eq(logChunks.seq, chunk.seq))),
    );
    if (first) await db.batch([first, ...rest]);
  }
  const legacyJobs = await db
    .selectDistinct({ jobId: jobLogs.jobId })
    .from(jobLogs)
    .innerJoin(jobs, eq(jobs.id, jobLogs.jobId))
    .where(and(isNotNull(jobs.endedAt), lt(jobs.endedAt, cutoff)))
    .limit(50)
    .all();
  if (legacyJobs.length > 0)
    await db.delete(jobLogs).where(
      inArray(
        jobLogs.jobId,
        legacyJobs.map((row) => row.jobId),
      ),
    );
  return { chunks: expired.length };
}
