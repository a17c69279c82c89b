import { desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { logChunks } from "../../schema/storage.js";
import type { LogChunk } from "../shared/agent-protocol.js";
import type { LogFollowers } from "./log-followers.js";

/** Where a chunk's bytes live in R2: one object per shipped batch, under its job and attempt. */
export function logChunkKey(jobId: string, attemptId: string, seq: number): string {
  return `logs/${jobId}/${attemptId}/${String(seq).padStart(10, "0")}`;
}

/**
 * Stores shipped batches of container output where they scale: each batch one R2 object, D1 only
 * its index row (`log_chunks`: key, size, each stream's share, times), then pushes it to the job's
 * followers. A job's chunks are numbered in arrival order (one sequence per job, so a gang's
 * members interleave as they arrived) and written one after another, so seq order is push order.
 */
export class LogWriter {
  private readonly nextSeq = new Map<string, number>();
  private readonly queue = new Map<string, Promise<void>>();

  constructor(
    private readonly env: Pick<Env, "DB" | "STORAGE">,
    private readonly followers: LogFollowers,
  ) {}

  write(jobId: string, attemptId: string, chunks: readonly LogChunk[]): Promise<void> {
    const previous = this.queue.get(jobId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.store(jobId, attemptId, chunks));
    this.queue.set(jobId, next);
    void next
      .finally(() => {
        if (this.queue.get(jobId) === next) this.queue.delete(jobId);
      })
      .catch(() => undefined);
    return next;
  }

  /** Forgets the counters of jobs that left the region; a later batch reads its own from D1. */
  forgetAllBut(present: (jobId: string) => boolean): void {
    for (const jobId of this.nextSeq.keys())
      if (!present(jobId) && !this.queue.has(jobId)) this.nextSeq.delete(jobId);
  }

  private async store(jobId: string, attemptId: string, chunks: readonly LogChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    const encoder = new TextEncoder();
    let data = "";
    let stdoutBytes = 0;
    let stderrBytes = 0;
    for (const chunk of chunks) {
      data += chunk.data;
      const size = encoder.encode(chunk.data).length;
      if (chunk.stream === "stdout") stdoutBytes += size;
      else stderrBytes += size;
    }
    const seq = await this.take(jobId);
    const key = logChunkKey(jobId, attemptId, seq);
    await this.env.STORAGE.put(key, data, {
      httpMetadata: { contentType: "text/plain; charset=utf-8" },
    });
    await drizzle(this.env.DB)
      .insert(logChunks)
      .values({
        jobId,
        attemptId,
        seq,
        key,
        bytes: stdoutBytes + stderrBytes,
        stdoutBytes,
        stderrBytes,
        firstAt: chunks[0]?.at ?? Date.now(),
        lastAt: chunks.at(-1)?.at ?? Date.now(),
        createdAt: Date.now(),
      })
      .onConflictDoNothing();
    this.followers.push(jobId, { seq, attemptId, data });
  }

  private async take(jobId: string): Promise<number> {
    let next = this.nextSeq.get(jobId);
    if (next === undefined) {
      const last = await drizzle(this.env.DB)
        .select({ seq: logChunks.seq })
        .from(logChunks)
        .where(eq(logChunks.jobId, jobId))
        .orderBy(desc(logChunks.seq))
        .limit(1)
        .get();
      next = (last?.seq ?? 0) + 1;
    }
    this.nextSeq.set(jobId, next + 1);
    return next;
  }
}
