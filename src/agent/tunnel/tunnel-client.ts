import type WebSocket from "ws";
import {
  decodeDataFrame,
  encodeDataFrame,
  type OpenFrame,
  parseTunnelFrame,
  type ReplicaFrame,
  type TunnelFrame,
} from "../../shared/endpoints/tunnel-protocol.js";
import { PRESENCE_PING, PRESENCE_PONG } from "../../shared/presence-ping.js";
import type { AgentLog } from "../agent-log.js";
import { type StreamLink, type StreamTarget, TunnelStream } from "./tunnel-stream.js";

/** The replicas this node runs, as the tunnel needs them. */
export interface ReplicaTargets {
  /**
   * Where the replica of this attempt listens, when it runs here; the stream counts as in flight
   * on it until `release`.
   */
  open(attemptId: string): { target: StreamTarget; release(): void } | undefined;
  /** Every replica's current state, sent again each time the socket (re)opens. */
  frames(): ReplicaFrame[];
}

/**
 * How often at most the tunnel times the socket's own round trip while streams open: a `ping`,
 * answered by the region's runtime without waking its JavaScript (presence-sockets.ts), so the
 * figure is the transport alone (locally: wrangler dev's proxy and workerd), the baseline against
 * which the tunnel's Server-Timing entry is read. Each head carries the latest as `ws-rtt`.
 */
const RTT_PROBE_MS = 250;

interface OpenStream {
  stream: TunnelStream;
  release(): void;
}

/**
 * The agent's side of the tunnel: it rides the presence socket (presence-socket.ts hands over each
 * socket once it opens). The region opens streams; each is forwarded to its replica's container by
 * a TunnelStream. When the socket closes, every stream on it is abandoned (the region has already
 * failed them toward their callers) and their upstream requests aborted.
 */
export class TunnelClient {
  private socket: WebSocket | undefined;
  private readonly streams = new Map<number, OpenStream>();
  /** When this side's probes went out, oldest first (pongs come back in order). */
  private probes: number[] = [];
  private lastProbeAt = 0;
  private rttMs: number | undefined;

  constructor(
    private readonly targets: ReplicaTargets,
    private readonly log: AgentLog,
  ) {}

  /** Streams forwarding now. */
  get openStreams(): number {
    return this.streams.size;
  }

  /** Takes over a freshly opened socket (the previous one, if any, is gone). */
  attach(socket: WebSocket): void {
    this.abandonAll();
    this.socket = socket;
    this.probes = [];
    this.rttMs = undefined;
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      if (this.socket !== socket) return;
      if (isBinary) {
        this.onData(data);
        return;
      }
      const text = data.toString("utf8");
      // The presence socket's own pings are answered too: a pong taken for a probe sent after one
      // of those reads short (once); the next pong then finds no probe and is skipped.
      if (text === PRESENCE_PONG) {
        const sentAt = this.probes.shift();
        if (sentAt !== undefined) this.rttMs = performance.now() - sentAt;
        return;
      }
      this.onFrame(parseTunnelFrame(text));
    });
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.abandonAll();
    });
    // A region that knows `hello` may then carry small bodies whole in `open`/`head` (one message
    // each way); an older one drops the frame and keeps to data frames.
    this.send({ t: "hello", inline: true });
    for (const frame of this.targets.frames()) this.send(frame);
  }

  /** A replica's readiness changed; dropped while no socket is open (resent on the next one). */
  sendReplica(frame: ReplicaFrame): void {
    this.send(frame);
  }

  private send(frame: TunnelFrame): void {
    const socket = this.socket;
    if (socket === undefined || socket.readyState !== socket.OPEN) return;
    socket.send(JSON.stringify(frame));
  }

  /** Times the socket's round trip now and then while traffic flows (RTT_PROBE_MS). */
  private probe(): void {
    const socket = this.socket;
    const now = performance.now();
    if (socket === undefined || socket.readyState !== socket.OPEN || now - this.lastProbeAt < RTT_PROBE_MS)
      return;
    // One outstanding at most: a region that never answers pings leaves no growing list.
    if (this.probes.length > 0 && now - this.lastProbeAt < 10_000) return;
    this.lastProbeAt = now;
    this.probes = [now];
    socket.send(PRESENCE_PING);
  }

  private readonly link: StreamLink = {
    transportRtt: () => this.rttMs,
    sendFrame: (frame) => this.send(frame),
    sendData: (stream, payload) => {
      const socket = this.socket;
      if (socket === undefined || socket.readyState !== socket.OPEN) return;
      socket.send(encodeDataFrame(stream, payload), { binary: true });
    },
    closed: (stream) => {
      const open = this.streams.get(stream);
      if (open === undefined) return;
      this.streams.delete(stream);
      open.release();
    },
  };

  private onFrame(frame: TunnelFrame | undefined): void {
    // Frames this side cannot read are dropped: a newer region may speak a little more.
    if (frame === undefined) return;
    switch (frame.t) {
      case "open":
        this.open(frame);
        this.probe();
        return;
      case "end":
        this.streams.get(frame.s)?.stream.requestEnd();
        return;
      case "credit":
        this.streams.get(frame.s)?.stream.credit(frame.bytes);
        return;
      case "reset":
        this.streams.get(frame.s)?.stream.cancel();
        return;
      default:
        return;
    }
  }

  private onData(message: Buffer): void {
    const data = decodeDataFrame(message);
    if (data === undefined) return;
    // Data for a stream already over (reset while frames were in flight) is simply late.
    this.streams.get(data.stream)?.stream.requestData(data.payload);
  }

  private open(frame: OpenFrame): void {
    if (this.streams.has(frame.s)) {
      this.send({ t: "reset", s: frame.s, reason: "protocol", message: `stream ${frame.s} is already open` });
      return;
    }
    const replica = this.targets.open(frame.attemptId);
    if (replica === undefined) {
      this.send({
        t: "reset",
        s: frame.s,
        reason: "unknown_replica",
        message: `this node runs no ready replica ${frame.attemptId}`,
      });
      return;
    }
    let stream: TunnelStream;
    try {
      // Its events come later (the request is asynchronous), after it is in the map.
      stream = new TunnelStream(frame.s, frame, replica.target, this.link);
    } catch (error) {
      // A header Node refuses to send (a control character in a value, say) is the caller's.
      replica.release();
      this.log.warn(`tunnel: stream ${frame.s} refused: ${error instanceof Error ? error.message : error}`);
      this.send({
        t: "reset",
        s: frame.s,
        reason: "protocol",
        message: "the request could not be forwarded",
      });
      return;
    }
    this.streams.set(frame.s, { stream, release: replica.release });
  }

  private abandonAll(): void {
    for (const { stream } of [...this.streams.values()]) stream.cancel();
    this.streams.clear();
  }
}
