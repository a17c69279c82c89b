import type { LogChunk } from "../shared/agent-protocol.js";
import { encodeLogFrame } from "../shared/log-frames.js";
import { LogFollowers } from "./log-followers.js";
import { LogWriter } from "./log-writer.js";

/**
 * A region's job logs: batches an agent reports go to R2 (indexed in D1) and are pushed to
 * whoever follows the job; a job that left the region writes no more, so its followers are told
 * and closed.
 */
export class RegionLogs {
  private readonly followers = new LogFollowers();
  private readonly writer: LogWriter;

  constructor(env: Env) {
    this.writer = new LogWriter(env, this.followers);
  }

  write(jobId: string, attemptId: string, chunks: readonly LogChunk[]): Promise<void> {
    return this.writer.write(jobId, attemptId, chunks);
  }

  /**
   * The job's log batches from now on, pushed as they are stored (log-frames.ts), ending when the
   * job leaves the region; at once for a job the region no longer holds.
   */
  follow(jobId: string, held: boolean): ReadableStream<Uint8Array> {
    if (held) return this.followers.follow(jobId);
    const bytes = new TextEncoder().encode(encodeLogFrame({ end: true }));
    return new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
  }

  /** After a step: the followers and log sequences of jobs the region no longer holds are ended. */
  keepOnly(held: (jobId: string) => boolean): void {
    for (const jobId of this.followers.jobs()) if (!held(jobId)) this.followers.end(jobId);
    this.writer.forgetAllBut(held);
  }
}
