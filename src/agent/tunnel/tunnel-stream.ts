import { Agent, type ClientRequest, type IncomingMessage, request } from "node:http";
import { SERVER_TIMING, timingEntry } from "../../shared/endpoints/server-timing.js";
import {
  fromBase64,
  MAX_DATA_FRAME_BYTES,
  MAX_INLINE_BODY_BYTES,
  type OpenFrame,
  type ResetFrame,
  STREAM_WINDOW_BYTES,
  type TunnelFrame,
  toBase64,
} from "../../shared/endpoints/tunnel-protocol.js";
import { requestHeaders, responseHeaders } from "./tunnel-headers.js";

/** What a stream needs of the tunnel it rides: sending frames and data, and leaving. */
export interface StreamLink {
  /** The socket's latest measured round trip (ms), answered by the region's runtime alone. */
  transportRtt?(): number | undefined;
  sendFrame(frame: TunnelFrame): void;
  sendData(stream: number, payload: Uint8Array): void;
  /** The stream is over (ended or reset); the tunnel forgets it. */
  closed(stream: number): void;
}

export interface StreamTarget {
  host: string;
  port: number;
}

type ResetReason = ResetFrame["reason"];

/**
 * Connections to replica containers, kept open between streams: a fresh TCP connection per request
 * cost more than the rest of the hop on a small request. Node drops an idle one a second before the
 * `Keep-Alive: timeout` its server announced, so a reused connection is rarely one the container is
 * closing. A container dying mid-response still closes its connection, which ends the stream with
 * `replica_died`; a cancelled stream destroys its connection (never returned to the pool), which is
 * how the container hears the caller went away.
 */
const containerPool = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 32, scheduling: "lifo" });

/**
 * One caller's request forwarded to a replica container: the request body from the region's data
 * frames into an HTTP request to the container, the container's response back as `head`, data
 * frames and `end`. Flow control both ways: the region is credited only for request bytes the
 * container's socket took, and the container's response is read only while the region's window
 * has room — a slow caller pauses the container's socket, never grows a buffer here.
 */
export class TunnelStream {
  private readonly upstream: ClientRequest;
  private response: IncomingMessage | undefined;
  /** Response bytes the region has room for now (its window minus what is uncredited). */
  private window = STREAM_WINDOW_BYTES;
  /** Response bytes read from the container but not yet sent (no window yet, or this turn's batch). */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** A flush is scheduled for the end of this turn of the event loop. */
  private flushing = false;
  private finished = false;
  private responseEnded = false;
  /** When the region's `open` arrived: the replica's part of the caller's Server-Timing starts here. */
  private readonly openedAt = performance.now();
  /** Whether the region reads a head carrying the whole (small) response. */
  private readonly inline: boolean;

  constructor(
    readonly id: number,
    open: OpenFrame,
    target: StreamTarget,
    private readonly link: StreamLink,
  ) {
    this.inline = open.inline === true;
    const whole = open.data === undefined ? undefined : fromBase64(open.data);
    const headers = requestHeaders(open.headers, `${target.host}:${target.port}`).filter(
      ([name]) => whole === undefined || name.toLowerCase() !== "content-length",
    );
    // A body that came whole goes out with its length in the same write as the head.
    if (whole !== undefined) headers.push(["content-length", String(whole.byteLength)]);
    this.upstream = request({
      host: target.host,
      port: target.port,
      method: open.method,
      path: open.path,
      // Node takes repeated headers as a flat list, as in `rawHeaders`.
      headers: headers.flat(),
      agent: containerPool,
    });
    // Frames arrive in pieces (headers, then body): sent as they come, not held for an ACK.
    this.upstream.setNoDelay(true);
    this.upstream.on("response", (response) => this.onResponse(response));
    this.upstream.on("error", (error) => {
      this.reset(
        this.response === undefined ? "upstream_failed" : "replica_died",
        this.response === undefined
          ? `the replica did not answer: ${error.message}`
          : `the replica's response broke off: ${error.message}`,
      );
    });
    if (whole !== undefined) this.upstream.end(whole);
    else if (!open.body) this.upstream.end();
  }

  /** A data frame of the request body from the region. */
  requestData(payload: Uint8Array): void {
    if (this.finished) return;
    const bytes = payload.byteLength;
    if (bytes === 0) return;
    // Credited once the container's socket took the bytes: a container that reads slowly holds
    // the credit back, and the region (bounded by its window) stops sending.
    this.upstream.write(payload, (error) => {
      if (error || this.finished) return;
      this.link.sendFrame({ t: "credit", s: this.id, bytes });
    });
  }

  /** The region's request body is complete. */
  requestEnd(): void {
    if (!this.finished) this.upstream.end();
  }

  /** The region consumed this many response bytes: room for as many more. */
  credit(bytes: number): void {
    if (this.finished) return;
    this.window = Math.min(STREAM_WINDOW_BYTES, this.window + bytes);
    this.flush();
  }

  /** The region abandoned the stream (the caller went away): abort the upstream request. */
  cancel(): void {
    if (this.finished) return;
    this.finished = true;
    this.upstream.destroy();
    this.response?.destroy();
    this.link.closed(this.id);
  }

  /** Ends the stream toward the region with `reset` and tears down the upstream side. */
  reset(reason: ResetReason, message: string): void {
    if (this.finished) return;
    this.finished = true;
    this.link.sendFrame({ t: "reset", s: this.id, reason, message: message.slice(0, 1024) });
    this.upstream.destroy();
    this.response?.destroy();
    this.link.closed(this.id);
  }

  private onResponse(response: IncomingMessage): void {
    if (this.finished) {
      response.destroy();
      return;
    }
    this.response = response;
    const head = {
      t: "head" as const,
      s: this.id,
      status: response.statusCode ?? 502,
      headers: [
        ...responseHeaders(response.rawHeaders),
        [SERVER_TIMING, timingEntry("replica", performance.now() - this.openedAt)] as [string, string],
      ],
    };
    const rtt = this.link.transportRtt?.();
    if (rtt !== undefined) head.headers.push([SERVER_TIMING, timingEntry("ws-rtt", rtt)]);
    const length = Number(response.headers["content-length"] ?? Number.NaN);
    if (this.inline && Number.isInteger(length) && length <= MAX_INLINE_BODY_BYTES) {
      this.inlineResponse(response, head);
      return;
    }
    this.link.sendFrame(head);
    // What the container's socket gave in one turn of the event loop leaves as one frame (up to
    // MAX_DATA_FRAME_BYTES): each frame costs the region an event and every hop after it a chunk,
    // so many small reads sent one by one bounded throughput by the per-chunk cost, not the link.
    // A token of an event stream still leaves within the same turn it arrived in.
    response.on("data", (chunk: Buffer) => {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
      if (this.pendingBytes >= this.window) response.pause();
      this.scheduleFlush();
    });
    response.on("end", () => {
      this.responseEnded = true;
      this.scheduleFlush();
    });
    // A close before the whole body arrived means the container's connection went mid-response.
    // (A complete body still waiting for window is not lost: "end" comes once it is read.)
    response.on("close", () => {
      if (!this.responseEnded && !response.complete) {
        this.reset("replica_died", "the replica's response broke off mid-stream");
      }
    });
    response.on("error", () => undefined);
  }

  /**
   * A small response of known length: read whole, then sent as one head carrying it (the caller
   * waits for all of it anyway). Held at most its declared length, well inside one window.
   */
  private inlineResponse(response: IncomingMessage, head: Extract<TunnelFrame, { t: "head" }>): void {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("end", () => {
      if (this.finished) return;
      this.responseEnded = true;
      this.finished = true;
      this.link.sendFrame({ ...head, data: toBase64(Buffer.concat(chunks)), end: true });
      this.link.closed(this.id);
    });
    response.on("close", () => {
      if (!this.responseEnded && !response.complete)
        this.reset("replica_died", "the replica's response broke off mid-stream");
    });
    response.on("error", () => undefined);
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      this.flush();
    });
  }

  /** Sends what the window allows; pauses the container's response while anything waits. */
  private flush(): void {
    while (!this.finished && this.pendingBytes > 0 && this.window > 0) {
      const payload = this.takePending(Math.min(MAX_DATA_FRAME_BYTES, this.window));
      this.link.sendData(this.id, payload);
      this.window -= payload.length;
    }
    if (this.finished) return;
    if (this.pendingBytes > 0) {
      this.response?.pause();
      return;
    }
    this.response?.resume();
    if (this.responseEnded) {
      this.finished = true;
      this.link.sendFrame({ t: "end", s: this.id });
      this.link.closed(this.id);
    }
  }

  /** Up to `limit` bytes from the front of `pending`, as one buffer. */
  private takePending(limit: number): Buffer {
    const parts: Buffer[] = [];
    let size = 0;
    while (size < limit) {
      const head = this.pending[0];
      if (head === undefined) break;
      const room = limit - size;
      if (head.length <= room) {
        parts.push(head);
        size += head.length;
        this.pending.shift();
      } else {
        parts.push(head.subarray(0, room));
        this.pending[0] = head.subarray(room);
        size += room;
      }
    }
    this.pendingBytes -= size;
    return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts, size);
  }
}
