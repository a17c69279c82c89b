import { type LogChunk, MAX_LOG_BATCH_BYTES } from "../shared/agent-protocol.js";
import { type Clock, systemClock } from "./clock.js";
import type { LogStream } from "./container-runtime.js";

export interface LogShipperOptions {
  /** Sends one batch as a `logs` report; a throw drops the batch (logs are best effort). */
  send: (chunks: LogChunk[]) => Promise<void>;
  clock?: Clock;
  flushIntervalMs?: number;
  /** Flush as soon as this much is waiting, without waiting for the interval. */
  flushBytes?: number;
  /** Past this much unsent output (a slow control plane), the oldest is dropped and said so. */
  maxPendingBytes?: number;
  onSendError?: (error: unknown) => void;
  /** Nothing is sent before this settles (the `started` report must reach the control plane first). */
  after?: Promise<void>;
}

/** Largest piece one chunk carries: small enough that its UTF-8 bytes stay within the schema's cap. */
const MAX_CHUNK_CHARS = Math.floor(MAX_LOG_BATCH_BYTES / 4);
const MAX_CHUNKS_PER_BATCH = 1024;
/**
 * A report's chunks as JSON stay under this, so the signed body stays under the Worker's 1 MiB
 * limit for agent requests (the rest is the envelope).
 */
export const MAX_REPORT_JSON_BYTES = 896 * 1024;
/** Unsent output kept while the control plane is slower than the container (then the oldest goes). */
export const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

interface Pending {
  chunk: LogChunk;
  bytes: number;
  /** Its data's size as a JSON string, which is what a report carries. */
  json: number;
}

/**
 * Batches a container's output into `logs` reports, one in flight at a time so the control plane
 * sees lines in order. Whatever arrives while a report is in flight goes in the next one, which is
 * therefore as large as a report may be (MAX_REPORT_JSON_BYTES, consecutive pieces of one stream
 * merged): per-report overhead, not bytes, bounds throughput, so fuller reports ingest faster.
 * A quiet stream is sent after ~500 ms; 64 KiB waiting sends at once.
 */
export class LogShipper {
  private readonly send: (chunks: LogChunk[]) => Promise<void>;
  private readonly clock: Clock;
  private readonly flushIntervalMs: number;
  private readonly flushBytes: number;
  private readonly maxPendingBytes: number;
  private readonly onSendError: (error: unknown) => void;
  private readonly after: Promise<void>;
  private pending: Pending[] = [];
  private pendingBytes = 0;
  /**
   * Chunks ever queued; of those, the ones that left the queue (taken or dropped, oldest first),
   * and the ones settled (sent, or dropped with nothing before them still in flight).
   */
  private queued = 0;
  private removed = 0;
  private settled = 0;
  private inFlight = false;
  private droppedBytes = 0;
  private droppedUnsaid = false;
  private waiters: { upTo: number; resolve: () => void }[] = [];
  private cancelTimer: (() => void) | undefined;
  private draining = false;
  private closed = false;

  constructor(options: LogShipperOptions) {
    this.send = options.send;
    this.clock = options.clock ?? systemClock;
    this.flushIntervalMs = options.flushIntervalMs ?? 500;
    this.flushBytes = options.flushBytes ?? 64 * 1024;
    this.maxPendingBytes = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.onSendError = options.onSendError ?? (() => {});
    this.after = options.after ?? Promise.resolve();
  }

  push(stream: LogStream, data: string): void {
    if (this.closed || data.length === 0) return;
    for (let offset = 0; offset < data.length; offset += MAX_CHUNK_CHARS) {
      const piece = data.slice(offset, offset + MAX_CHUNK_CHARS);
      const bytes = Buffer.byteLength(piece);
      this.pending.push({
        chunk: { stream, data: piece, at: this.clock.now() },
        bytes,
        json: Buffer.byteLength(JSON.stringify(piece)),
      });
      this.queued++;
      this.pendingBytes += bytes;
    }
    this.dropOverflow();
    if (this.pendingBytes >= this.flushBytes) void this.flush();
    else this.cancelTimer ??= this.clock.setTimer(() => void this.flush(), this.flushIntervalMs);
  }

  /** Sends everything waiting; resolves when it (and all before it) was sent. */
  flush(): Promise<void> {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const upTo = this.queued;
    const done =
      upTo <= this.settled
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.waiters.push({ upTo, resolve }));
    this.drain();
    return done;
  }

  /** Final flush (before the `exited` report); later output is ignored. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
  }

  /** Stops shipping at once (the attempt is no longer ours); unsent output is discarded. */
  abandon(): void {
    this.closed = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.removeFront(this.pending.length);
  }

  /** One sender: it sends a batch, then whatever came meanwhile, until nothing waits. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    void this.after
      .catch(() => undefined)
      .then(async () => {
        while (this.pending.length > 0) {
          this.inFlight = true;
          const batch = this.takeBatch();
          try {
            await this.send(batch);
          } catch (error) {
            this.onSendError(error);
          }
          this.inFlight = false;
          this.settle();
        }
      })
      .finally(() => {
        this.draining = false;
        // Output pushed after the loop's last look starts it again.
        if (this.pending.length > 0) this.drain();
      });
  }

  private takeBatch(): LogChunk[] {
    const batch: LogChunk[] = [];
    let json = 0;
    if (this.droppedUnsaid) {
      this.droppedUnsaid = false;
      const note = `[meridian: ${this.droppedBytes} bytes of output dropped here; the control plane was not keeping up]\n`;
      batch.push({ stream: "stderr", data: note, at: this.clock.now() });
      json += note.length + 2;
    }
    let taken = 0;
    for (const item of this.pending) {
      if (taken > 0 && (json + item.json > MAX_REPORT_JSON_BYTES || batch.length >= MAX_CHUNKS_PER_BATCH))
        break;
      const last = batch.at(-1);
      // Consecutive pieces of one stream travel as one chunk (fewer objects to encode and check).
      if (
        last &&
        last.stream === item.chunk.stream &&
        last.data.length + item.chunk.data.length <= MAX_CHUNK_CHARS
      )
        last.data += item.chunk.data;
      else batch.push({ ...item.chunk });
      json += item.json;
      taken++;
    }
    this.removeFront(taken);
    return batch;
  }

  /** Takes the oldest `count` off the queue; with no report in flight, that settles them. */
  private removeFront(count: number): void {
    for (const item of this.pending.slice(0, count)) this.pendingBytes -= item.bytes;
    this.pending = this.pending.slice(count);
    this.removed += count;
    if (!this.inFlight) this.settle();
  }

  private settle(): void {
    this.settled = this.removed;
    const due = this.waiters.filter((waiter) => waiter.upTo <= this.settled);
    this.waiters = this.waiters.filter((waiter) => waiter.upTo > this.settled);
    for (const waiter of due) waiter.resolve();
  }

  private dropOverflow(): void {
    let count = 0;
    let dropped = 0;
    for (const item of this.pending) {
      if (this.pendingBytes - dropped <= this.maxPendingBytes || count >= this.pending.length - 1) break;
      dropped += item.bytes;
      count++;
    }
    if (count === 0) return;
    this.removeFront(count);
    this.droppedBytes += dropped;
    this.droppedUnsaid = true;
  }
}
