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

/** Largest piece one chunk carries: small enough that its UTF-8 bytes stay within a batch. */
const MAX_CHUNK_CHARS = Math.floor(MAX_LOG_BATCH_BYTES / 4);
const MAX_CHUNKS_PER_BATCH = 1024;

/**
 * Batches a container's output into `logs` reports: one report per ~500 ms or 64 KiB, never more
 * than MAX_LOG_BATCH_BYTES, sent one at a time so the control plane sees lines in order.
 */
export class LogShipper {
  private readonly send: (chunks: LogChunk[]) => Promise<void>;
  private readonly clock: Clock;
  private readonly flushIntervalMs: number;
  private readonly flushBytes: number;
  private readonly maxPendingBytes: number;
  private readonly onSendError: (error: unknown) => void;
  private pending: LogChunk[] = [];
  private pendingBytes = 0;
  private droppedBytes = 0;
  private cancelTimer: (() => void) | undefined;
  private sending: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(options: LogShipperOptions) {
    this.send = options.send;
    this.clock = options.clock ?? systemClock;
    this.flushIntervalMs = options.flushIntervalMs ?? 500;
    this.flushBytes = options.flushBytes ?? 64 * 1024;
    this.maxPendingBytes = options.maxPendingBytes ?? 8 * 1024 * 1024;
    this.onSendError = options.onSendError ?? (() => {});
    this.sending = options.after ?? Promise.resolve();
  }

  push(stream: LogStream, data: string): void {
    if (this.closed || data.length === 0) return;
    for (let offset = 0; offset < data.length; offset += MAX_CHUNK_CHARS) {
      const piece = data.slice(offset, offset + MAX_CHUNK_CHARS);
      this.pending.push({ stream, data: piece, at: this.clock.now() });
      this.pendingBytes += Buffer.byteLength(piece);
    }
    this.dropOverflow();
    if (this.pendingBytes >= this.flushBytes) this.flush();
    else this.cancelTimer ??= this.clock.setTimer(() => this.flush(), this.flushIntervalMs);
  }

  /** Queues everything waiting for sending; resolves when it (and all before it) was sent. */
  flush(): Promise<void> {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    while (this.pending.length > 0) {
      const batch = this.takeBatch();
      this.sending = this.sending.then(() => this.send(batch).catch(this.onSendError));
    }
    return this.sending;
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
    this.pending = [];
    this.pendingBytes = 0;
  }

  private takeBatch(): LogChunk[] {
    const batch: LogChunk[] = [];
    let bytes = 0;
    for (const chunk of this.pending) {
      const size = Buffer.byteLength(chunk.data);
      if (batch.length > 0 && (bytes + size > MAX_LOG_BATCH_BYTES || batch.length >= MAX_CHUNKS_PER_BATCH))
        break;
      batch.push(chunk);
      bytes += size;
    }
    this.pending = this.pending.slice(batch.length);
    this.pendingBytes -= bytes;
    return batch;
  }

  private dropOverflow(): void {
    let dropped = 0;
    while (this.pendingBytes > this.maxPendingBytes && this.pending.length > 1) {
      const oldest = this.pending.shift();
      if (oldest === undefined) break;
      const size = Buffer.byteLength(oldest.data);
      this.pendingBytes -= size;
      dropped += size;
    }
    if (dropped === 0) return;
    this.droppedBytes += dropped;
    const note = `[meridian: ${this.droppedBytes} bytes of output dropped; the control plane is not keeping up]\n`;
    this.pending.unshift({ stream: "stderr", data: note, at: this.clock.now() });
    this.pendingBytes += Buffer.byteLength(note);
  }
}
