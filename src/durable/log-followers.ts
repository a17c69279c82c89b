import { encodeLogFrame, type LogFrame } from "../shared/log-frames.js";

const MAX_BEHIND_FRAMES = 1024;

interface Follower {
  writer: WritableStreamDefaultWriter<Uint8Array>;
}

/**
 * Who follows which job's logs, in the Region object's memory: each follower is a byte stream
 * handed to the Worker over RPC, written as batches are stored and closed when the job leaves the
 * region. Memory only: an evicted object drops its streams, and followers reconnect.
 */
export class LogFollowers {
  private readonly byJob = new Map<string, Set<Follower>>();
  private readonly encoder = new TextEncoder();

  /** A stream of the job's frames from now on. */
  follow(jobId: string): ReadableStream<Uint8Array> {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    const follower: Follower = { writer: writable.getWriter() };
    const set = this.byJob.get(jobId) ?? new Set<Follower>();
    set.add(follower);
    this.byJob.set(jobId, set);
    // A reader that went away shows as a failed write; it is dropped then.
    return readable;
  }

  has(jobId: string): boolean {
    return (this.byJob.get(jobId)?.size ?? 0) > 0;
  }

  jobs(): string[] {
    return [...this.byJob.keys()];
  }

  push(jobId: string, frame: LogFrame): void {
    const set = this.byJob.get(jobId);
    if (!set) return;
    const bytes = this.encoder.encode(encodeLogFrame(frame));
    for (const follower of set) {
      // A follower this far behind is not reading: dropped, it reconnects and reads from storage.
      if ((follower.writer.desiredSize ?? 0) < -MAX_BEHIND_FRAMES) {
        this.drop(jobId, follower);
        continue;
      }
      follower.writer.write(bytes).catch(() => this.drop(jobId, follower));
    }
  }

  /** The job is no longer in the region: each follower gets `end`, then its stream closes. */
  end(jobId: string): void {
    const set = this.byJob.get(jobId);
    if (!set) return;
    this.byJob.delete(jobId);
    const bytes = this.encoder.encode(encodeLogFrame({ end: true }));
    for (const follower of set) {
      follower.writer
        .write(bytes)
        .then(() => follower.writer.close())
        .catch(() => undefined);
    }
  }

  private drop(jobId: string, follower: Follower): void {
    const set = this.byJob.get(jobId);
    set?.delete(follower);
    if (set && set.size === 0) this.byJob.delete(jobId);
    follower.writer.abort().catch(() => undefined);
  }
}
