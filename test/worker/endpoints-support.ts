import { exports } from "cloudflare:workers";
import {
  authorizationDigest,
  newNonce,
  publicKeyOf,
  SIGNATURE_HEADERS,
  sha256Hex,
  signParts,
} from "../../src/shared/agent-signature.js";
import {
  decodeDataFrame,
  encodeDataFrame,
  parseTunnelFrame,
  type TunnelFrame,
} from "../../src/shared/endpoints/tunnel-protocol.js";
import type { TestAgent } from "./support.js";

const BASE = "http://meridian.test";

export type Received =
  | { kind: "frame"; frame: TunnelFrame }
  | { kind: "data"; stream: number; payload: Uint8Array };

/**
 * The agent's end of a tunnel, as a test speaks it: the node's real presence socket (signed GET
 * /v1/agent/presence through the Worker), with every frame it receives kept in order.
 */
export class TunnelEnd {
  readonly received: Received[] = [];
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(readonly socket: WebSocket) {
    // Binary messages reach a test as Blobs, read asynchronously: a chain keeps them in order.
    let chain = Promise.resolve();
    socket.addEventListener("message", (event) => {
      const data: unknown = event.data;
      chain = chain.then(async () => {
        if (typeof data === "string") {
          const frame = parseTunnelFrame(data);
          if (frame) this.received.push({ kind: "frame", frame });
        } else {
          const bytes = data instanceof Blob ? await data.arrayBuffer() : (data as ArrayBuffer);
          const decoded = decodeDataFrame(new Uint8Array(bytes));
          if (decoded)
            this.received.push({ kind: "data", stream: decoded.stream, payload: decoded.payload.slice() });
        }
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
    socket.addEventListener("close", () => {
      this.closed = true;
    });
  }

  static async open(agent: TestAgent): Promise<TunnelEnd> {
    const timestamp = Date.now();
    const nonce = newNonce();
    const signature = await signParts(agent.secretKey, {
      method: "GET",
      host: new URL(BASE).host,
      pathAndQuery: "/v1/agent/presence",
      region: agent.region,
      authorization: await authorizationDigest(undefined),
      bodySha256: await sha256Hex(""),
      timestamp,
      nonce,
    });
    const res = await exports.default.fetch(
      new Request(`${BASE}/v1/agent/presence`, {
        headers: {
          upgrade: "websocket",
          [SIGNATURE_HEADERS.publicKey]: await publicKeyOf(agent.secretKey),
          [SIGNATURE_HEADERS.timestamp]: String(timestamp),
          [SIGNATURE_HEADERS.nonce]: nonce,
          [SIGNATURE_HEADERS.signature]: signature,
          [SIGNATURE_HEADERS.nodeId]: agent.nodeId,
          [SIGNATURE_HEADERS.region]: agent.region,
        },
      }),
    );
    const socket = res.webSocket;
    if (res.status !== 101 || !socket)
      throw new Error(`presence answered ${res.status}: ${await res.text()}`);
    socket.accept();
    return new TunnelEnd(socket);
  }

  /**
   * A test's client socket may deliver a text message ahead of a binary one sent just before it
   * (the agent's own socket, one TCP stream, never does): sends go out one at a time, apart. 2 ms
   * apart still reordered on a loaded machine (a stream's `end` overtook its last data frames).
   */
  private outgoing = Promise.resolve();

  private enqueue(message: string | ArrayBuffer): void {
    this.outgoing = this.outgoing.then(async () => {
      if (this.socket.readyState === WebSocket.OPEN) this.socket.send(message);
      await new Promise((resolve) => setTimeout(resolve, 25));
    });
  }

  send(frame: TunnelFrame): void {
    this.enqueue(JSON.stringify(frame));
  }

  sendData(stream: number, payload: Uint8Array): void {
    this.enqueue(new Uint8Array(encodeDataFrame(stream, payload)).buffer);
  }

  /** Resolves once everything sent so far has been handed to the socket. */
  flushed(): Promise<void> {
    return this.outgoing;
  }

  ready(a: { attemptId: string; fencing: number }, state: "ready" | "unready" | "failed" = "ready"): void {
    this.send({
      t: "replica",
      attemptId: a.attemptId,
      fencing: a.fencing,
      state,
      detail: "",
      at: Date.now(),
    });
  }

  /** Waits (a bounded number of messages' time) until a received message matches. */
  async next<T extends Received>(match: (r: Received) => r is T, timeoutMs = 5_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.received.findIndex(match);
      if (at >= 0) return this.received.splice(at, 1)[0] as T;
      if (Date.now() > deadline) throw new Error(`no matching tunnel message in ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  frame<K extends TunnelFrame["t"]>(
    t: K,
    stream?: number,
  ): Promise<{ kind: "frame"; frame: Extract<TunnelFrame, { t: K }> }> {
    return this.next(
      (r): r is { kind: "frame"; frame: Extract<TunnelFrame, { t: K }> } =>
        r.kind === "frame" &&
        r.frame.t === t &&
        (stream === undefined || ("s" in r.frame && r.frame.s === stream)),
    );
  }

  /** The request body of a stream, to its `end`. */
  async body(stream: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for (;;) {
      const r = await this.next(
        (x): x is Received =>
          (x.kind === "data" && x.stream === stream) ||
          (x.kind === "frame" && x.frame.t === "end" && x.frame.s === stream),
      );
      if (r.kind === "frame") break;
      parts.push(r.payload);
      this.send({ t: "credit", s: stream, bytes: r.payload.byteLength });
    }
    const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.byteLength;
    }
    return out;
  }

  close(): void {
    this.outgoing = this.outgoing.then(() => this.socket.close(1000, "test done"));
  }
}

/** Lets the socket's queued messages reach the other side. */
export function settle(ms = 100): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `check` holds (the other side's messages arrive when a loaded machine lets them). */
export async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`never: ${what}`);
    await settle(20);
  }
}
