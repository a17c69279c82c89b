import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type WebSocket from "ws";
import {
  decodeDataFrame,
  encodeDataFrame,
  MAX_DATA_FRAME_BYTES,
  type ReplicaFrame,
  type TunnelFrame,
  toBase64,
} from "../../src/shared/endpoints/tunnel-protocol.js";
import { PRESENCE_PING, PRESENCE_PONG } from "../../src/shared/presence-ping.js";

// The ESM face of ws 8 has no `WebSocket.Server` (the installed types are ws 7's): take the
// CommonJS one, which has it.
const { Server: WebSocketServer, OPEN } = createRequire(import.meta.url)("ws") as typeof WebSocket;

/** What the region saw of one stream. */
export interface SeenStream {
  head?: Extract<TunnelFrame, { t: "head" }>;
  body: Buffer[];
  bytes: number;
  ended: boolean;
  reset?: Extract<TunnelFrame, { t: "reset" }>;
  /** Credits the agent gave for request body bytes. */
  credited: number;
}

/**
 * A real WebSocket server playing a region's side of the tunnel: it opens streams, sends request
 * bodies in data frames and credits (or withholds credit for) response bytes as a test says.
 */
export class TunnelRegion {
  readonly server: WebSocket.Server;
  socket: WebSocket | undefined;
  readonly streams = new Map<number, SeenStream>();
  readonly replicaFrames: ReplicaFrame[] = [];
  /** Whether response bytes are credited back as they arrive. */
  autoCredit = true;
  /** The agent said `hello` (it reads whole bodies in `open` and may send them in `head`). */
  hello = false;
  /** Pings the agent sent, each answered `pong` as the region's runtime does (presence-sockets.ts). */
  pings = 0;
  private nextStream = 1;
  private connected: (() => void)[] = [];

  constructor() {
    this.server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    this.server.on("connection", (socket: WebSocket) => {
      this.socket = socket;
      socket.on("message", (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
      for (const wake of this.connected.splice(0)) wake();
    });
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves once an agent is connected. */
  async connection(): Promise<WebSocket> {
    if (this.socket?.readyState === OPEN) return this.socket;
    await new Promise<void>((resolve) => this.connected.push(resolve));
    if (this.socket === undefined) throw new Error("no socket");
    return this.socket;
  }

  /** Opens a stream to the replica; the body, when given, goes in data frames, then `end`. */
  open(
    attemptId: string,
    method: string,
    path: string,
    body?: Buffer,
    headers: [string, string][] = [],
  ): number {
    const s = this.nextStream++;
    this.streams.set(s, { body: [], bytes: 0, ended: false, credited: 0 });
    this.send({ t: "open", s, attemptId, method, path, headers, body: body !== undefined });
    if (body !== undefined) {
      for (let at = 0; at < body.length; at += MAX_DATA_FRAME_BYTES) {
        this.socket?.send(encodeDataFrame(s, body.subarray(at, at + MAX_DATA_FRAME_BYTES)), { binary: true });
      }
    }
    this.send({ t: "end", s });
    return s;
  }

  /** Opens a stream as a region does for an agent that said `hello`: the body whole inside `open`. */
  openInline(
    attemptId: string,
    method: string,
    path: string,
    body: Buffer,
    headers: [string, string][] = [],
  ): number {
    const s = this.nextStream++;
    this.streams.set(s, { body: [], bytes: 0, ended: false, credited: 0 });
    this.send({
      t: "open",
      s,
      attemptId,
      method,
      path,
      headers,
      body: true,
      inline: true,
      data: toBase64(body),
    });
    return s;
  }

  send(frame: TunnelFrame): void {
    this.socket?.send(JSON.stringify(frame));
  }

  credit(s: number, bytes: number): void {
    this.send({ t: "credit", s, bytes });
  }

  stream(s: number): SeenStream {
    const seen = this.streams.get(s);
    if (seen === undefined) throw new Error(`no stream ${s}`);
    return seen;
  }

  text(s: number): string {
    return Buffer.concat(this.stream(s).body).toString("utf8");
  }

  async close(): Promise<void> {
    for (const client of this.server.clients) client.terminate();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      const frame = decodeDataFrame(data);
      if (frame === undefined) return;
      const seen = this.streams.get(frame.stream);
      if (seen === undefined) return;
      seen.body.push(Buffer.from(frame.payload));
      seen.bytes += frame.payload.byteLength;
      if (this.autoCredit) this.credit(frame.stream, frame.payload.byteLength);
      return;
    }
    if (data.toString("utf8") === PRESENCE_PING) {
      this.pings += 1;
      this.socket?.send(PRESENCE_PONG);
      return;
    }
    const frame = JSON.parse(data.toString("utf8")) as TunnelFrame;
    if (frame.t === "replica") {
      this.replicaFrames.push(frame);
      return;
    }
    if (frame.t === "hello") {
      this.hello = true;
      return;
    }
    const seen = this.streams.get(frame.s);
    if (seen === undefined) return;
    if (frame.t === "head") {
      seen.head = frame;
      if (frame.end) {
        const whole = Buffer.from(frame.data ?? "", "base64");
        seen.body.push(whole);
        seen.bytes += whole.length;
        seen.ended = true;
      }
    } else if (frame.t === "end") seen.ended = true;
    else if (frame.t === "reset") seen.reset = frame;
    else if (frame.t === "credit") seen.credited += frame.bytes;
  }
}

export async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
