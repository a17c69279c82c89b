import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type WebSocket from "ws";
import {
  decodeDataFrame,
  encodeDataFrame,
  fromBase64,
  MAX_DATA_FRAME_BYTES,
  MAX_INLINE_BODY_BYTES,
  parseTunnelFrame,
  toBase64,
} from "../src/shared/endpoints/tunnel-protocol.js";

// ws 8's ESM face lacks `WebSocket.Server` (the installed types are ws 7's): take the CommonJS one.
const { Server: WebSocketServer } = createRequire(import.meta.url)("ws") as typeof WebSocket;

interface Pending {
  res: ServerResponse;
}

/**
 * A minimal stand-in for the region's side of the tunnel, in Node: HTTP requests in, streams over
 * the agent's WebSocket out, responses streamed back with credit as the caller's socket drains.
 * It isolates what the agent's tunnel and the WebSocket hop cost, apart from workerd and the
 * gateway. Like a region, it holds one socket per agent; each `listen` gives an HTTP address whose
 * requests all go to one replica.
 */
export class TunnelFront {
  private readonly wss: InstanceType<typeof WebSocketServer>;
  private readonly servers: Server[] = [];
  private socket: WebSocket | undefined;
  private nextStream = 1;
  private readonly pending = new Map<number, Pending>();
  private ready: Promise<void>;
  /** The agent said `hello`: small bodies travel whole in `open`/`head`, as the region sends them. */
  private inline = false;

  constructor() {
    this.wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    this.ready = new Promise((resolve) => {
      this.wss.on("connection", (socket: WebSocket) => {
        this.socket = socket;
        socket.on("message", (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
        resolve();
      });
    });
  }

  get agentUrl(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}`;
  }

  async listen(attemptId: string): Promise<string> {
    const server = createServer((req, res) => this.forward(attemptId, req, res));
    this.servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  connected(): Promise<void> {
    return this.ready;
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    for (const server of this.servers) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private send(text: string | Uint8Array): void {
    this.socket?.send(text, { binary: typeof text !== "string" });
  }

  private forward(attemptId: string, req: IncomingMessage, res: ServerResponse): void {
    const s = this.nextStream++;
    this.pending.set(s, { res });
    const headers: [string, string][] = [];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      headers.push([req.rawHeaders[i] ?? "", req.rawHeaders[i + 1] ?? ""]);
    }
    const body = req.method !== "GET" && req.method !== "HEAD";
    res.on("close", () => {
      if (this.pending.delete(s))
        this.send(JSON.stringify({ t: "reset", s, reason: "cancelled", message: "" }));
    });
    const length = Number(req.headers["content-length"] ?? Number.NaN);
    if (this.inline && (!body || (Number.isInteger(length) && length <= MAX_INLINE_BODY_BYTES))) {
      // As the region does: the whole (small) request in one `open`, read before it is sent.
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const open = {
          t: "open",
          s,
          attemptId,
          method: req.method,
          path: req.url,
          headers,
          body,
          inline: true,
        };
        const data = body ? { data: toBase64(Buffer.concat(chunks)) } : {};
        this.send(JSON.stringify({ ...open, ...data }));
      });
      return;
    }
    this.send(
      JSON.stringify({
        t: "open",
        s,
        attemptId,
        method: req.method,
        path: req.url,
        headers,
        body,
      }),
    );
    req.on("data", (chunk: Buffer) => {
      for (let at = 0; at < chunk.length; at += MAX_DATA_FRAME_BYTES) {
        this.send(encodeDataFrame(s, chunk.subarray(at, at + MAX_DATA_FRAME_BYTES)));
      }
    });
    req.on("end", () => this.send(JSON.stringify({ t: "end", s })));
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      const frame = decodeDataFrame(data);
      const pending = frame && this.pending.get(frame.stream);
      if (!frame || !pending) return;
      const bytes = frame.payload.byteLength;
      // Credit once the caller's socket took the bytes, as the region does.
      pending.res.write(frame.payload, () =>
        this.send(JSON.stringify({ t: "credit", s: frame.stream, bytes })),
      );
      return;
    }
    const frame = parseTunnelFrame(data.toString("utf8"));
    if (frame?.t === "hello") this.inline = true;
    if (frame === undefined || frame.t === "replica" || frame.t === "open" || frame.t === "hello") return;
    const pending = this.pending.get(frame.s);
    if (pending === undefined) return;
    if (frame.t === "head") {
      pending.res.writeHead(frame.status, frame.headers.flat());
      if (frame.end) {
        this.pending.delete(frame.s);
        pending.res.end(fromBase64(frame.data ?? ""));
      }
    } else if (frame.t === "end") {
      this.pending.delete(frame.s);
      pending.res.end();
    } else if (frame.t === "reset") {
      this.pending.delete(frame.s);
      pending.res.destroy();
    }
  }
}
