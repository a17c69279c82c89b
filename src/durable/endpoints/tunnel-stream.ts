import {
  encodeDataFrame,
  fromBase64,
  type HeadFrame,
  MAX_DATA_FRAME_BYTES,
  type ResetFrame,
  STREAM_WINDOW_BYTES,
  type TunnelFrame,
} from "../../shared/endpoints/tunnel-protocol.js";

/** Credit is handed back in batches of this many consumed bytes (or when the queue runs dry). */
const CREDIT_BATCH_BYTES = 64 * 1024;
/**
 * The most of the queue one pull hands on as a single chunk. Every chunk costs a trip through
 * each stream pump downstream (endpoint object, Worker, the runtime's proxy), whatever its size:
 * handing on what has piled up meanwhile as one chunk is what lets throughput follow the link,
 * not the per-chunk cost. Below the window, so the runtime reading one chunk ahead of the caller
 * never credits the agent for a whole window the caller has not read.
 */
const MAX_PULL_BYTES = 256 * 1024;

/** Why a stream ended without a complete response. */
export interface StreamFailure {
  reason: ResetFrame["reason"];
  message: string;
  /** True when the agent refused the stream before anything reached the container. */
  beforeReplica: boolean;
}

/** What the region learns of the stream's end, for in-flight counts and metrics. */
export type StreamEnd = { ok: true } | { ok: false; failure: StreamFailure };

/**
 * One caller request carried over a node's tunnel, region side: the request body goes out as data
 * frames within the agent's credit, the response body comes back into a pull-based stream that
 * grants credit only as the caller consumes it, so neither side ever buffers more than one window.
 */
export class TunnelStream {
  private sendWindow = STREAM_WINDOW_BYTES;
  private sendWaiter: (() => void) | null = null;
  private readonly queue: Uint8Array[] = [];
  /** Bytes the agent sent that it has not been credited for: never more than one window. */
  private unacknowledged = 0;
  private consumed = 0;
  private ended = false;
  private failure: StreamFailure | null = null;
  private pullWaiter: (() => void) | null = null;
  private head: HeadFrame | null = null;
  private headWaiters: { resolve: (head: HeadFrame) => void; reject: (failure: StreamFailure) => void }[] =
    [];
  private finished = false;

  constructor(
    readonly id: number,
    private readonly sendText: (frame: TunnelFrame) => void,
    private readonly sendBinary: (bytes: Uint8Array) => void,
    private readonly onFinish: (stream: TunnelStream, end: StreamEnd) => void,
  ) {}

  /** Sends the body in frames no larger than MAX_DATA_FRAME_BYTES, waiting for credit between them. */
  async sendBody(body: Uint8Array): Promise<void> {
    for (let at = 0; at < body.byteLength && !this.finished; ) {
      const size = Math.min(MAX_DATA_FRAME_BYTES, body.byteLength - at);
      while (this.sendWindow < size && !this.finished) await new Promise<void>((r) => (this.sendWaiter = r));
      if (this.finished) return;
      this.sendWindow -= size;
      this.sendBinary(encodeDataFrame(this.id, body.subarray(at, at + size)));
      at += size;
    }
    if (!this.finished) this.sendText({ t: "end", s: this.id });
  }

  /** Resolves with the agent's `head`, or rejects with the reason the stream ended before it. */
  waitHead(): Promise<HeadFrame> {
    if (this.head) return Promise.resolve(this.head);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.headWaiters.push({ resolve, reject }));
  }

  onHead(frame: HeadFrame): void {
    if (this.head || this.finished) {
      this.protocolError("a second head");
      return;
    }
    this.head = frame;
    if (frame.end) {
      // The whole (small) response came with its head: nothing more will arrive, no credit is owed.
      const data = fromBase64(frame.data ?? "");
      if (data.byteLength > 0) this.queue.push(data);
      this.ended = true;
    }
    for (const waiter of this.headWaiters.splice(0)) waiter.resolve(frame);
    this.wakePull();
  }

  onData(payload: Uint8Array): void {
    if (this.finished) return;
    if (!this.head || this.ended) {
      this.protocolError("data outside the response body");
      return;
    }
    this.unacknowledged += payload.byteLength;
    if (this.unacknowledged > STREAM_WINDOW_BYTES) {
      this.protocolError("data past the credit window");
      return;
    }
    this.queue.push(payload);
    this.wakePull();
  }

  onEnd(): void {
    if (this.finished) return;
    if (!this.head) {
      this.protocolError("end before head");
      return;
    }
    this.ended = true;
    this.wakePull();
  }

  onCredit(bytes: number): void {
    this.sendWindow = Math.min(STREAM_WINDOW_BYTES, this.sendWindow + bytes);
    const waiter = this.sendWaiter;
    this.sendWaiter = null;
    waiter?.();
  }

  /** The agent reset the stream, or its socket closed: the caller's side ends with an error. */
  fail(reason: ResetFrame["reason"], message: string): void {
    if (this.finished || this.failure) return;
    this.failure = { reason, message, beforeReplica: this.head === null && reason === "unknown_replica" };
    for (const waiter of this.headWaiters.splice(0)) waiter.reject(this.failure);
    if (!this.head) this.finish({ ok: false, failure: this.failure });
    this.onCredit(0);
    this.wakePull();
  }

  /** The caller went away: the agent is told to abort the upstream request. */
  cancel(): void {
    if (this.finished) return;
    this.sendText({ t: "reset", s: this.id, reason: "cancelled", message: "the caller went away" });
    this.fail("cancelled", "the caller went away");
    this.finish({ ok: false, failure: { reason: "cancelled", message: "", beforeReplica: false } });
  }

  /** The response body: pulled by the caller, credit granted as it reads. */
  body(sse: boolean): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          for (;;) {
            const chunk = this.take();
            if (chunk) {
              controller.enqueue(chunk);
              this.consumed += chunk.byteLength;
              this.unacknowledged -= chunk.byteLength;
              if (this.consumed >= CREDIT_BATCH_BYTES || this.queue.length === 0) this.grantCredit();
              return;
            }
            if (this.failure) {
              // An event stream ends with an error event the client library surfaces; a plain body errors.
              if (sse && this.failure.reason !== "cancelled") {
                controller.enqueue(sseError(this.failure));
                controller.close();
              } else controller.error(new Error(`stream reset: ${this.failure.reason}`));
              this.finish({ ok: false, failure: this.failure });
              return;
            }
            if (this.ended) {
              controller.close();
              this.finish({ ok: true });
              return;
            }
            await new Promise<void>((r) => (this.pullWaiter = r));
          }
        },
        cancel: () => this.cancel(),
      },
      { highWaterMark: 0 },
    );
  }

  /** The queue's head, joined with what follows it up to MAX_PULL_BYTES (undefined when empty). */
  private take(): Uint8Array | undefined {
    const first = this.queue.shift();
    if (!first || this.queue.length === 0 || first.byteLength >= MAX_PULL_BYTES) return first;
    let size = first.byteLength;
    let count = 0;
    for (const next of this.queue) {
      if (size + next.byteLength > MAX_PULL_BYTES) break;
      size += next.byteLength;
      count++;
    }
    if (count === 0) return first;
    const joined = new Uint8Array(size);
    joined.set(first, 0);
    let at = first.byteLength;
    for (const next of this.queue.splice(0, count)) {
      joined.set(next, at);
      at += next.byteLength;
    }
    return joined;
  }

  private grantCredit(): void {
    if (this.consumed === 0 || this.finished || this.ended) {
      this.consumed = 0;
      return;
    }
    this.sendText({ t: "credit", s: this.id, bytes: this.consumed });
    this.consumed = 0;
  }

  private protocolError(what: string): void {
    this.sendText({ t: "reset", s: this.id, reason: "protocol", message: what });
    this.fail("protocol", `the agent broke the tunnel protocol: ${what}`);
  }

  private wakePull(): void {
    const waiter = this.pullWaiter;
    this.pullWaiter = null;
    waiter?.();
  }

  private finish(end: StreamEnd): void {
    if (this.finished) return;
    this.finished = true;
    this.onFinish(this, end);
  }
}

/** An OpenAI-shaped error event that ends a broken event stream (clients raise it, never hang). */
function sseError(failure: StreamFailure): Uint8Array {
  const error = {
    error: {
      message: `the replica stopped mid-response (${failure.reason}): ${failure.message}`,
      type: "server_error",
      code: failure.reason,
    },
  };
  return new TextEncoder().encode(`data: ${JSON.stringify(error)}\n\n`);
}
