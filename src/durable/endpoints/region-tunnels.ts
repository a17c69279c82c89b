import { addTiming } from "../../shared/endpoints/server-timing.js";
import {
  decodeDataFrame,
  MAX_INLINE_BODY_BYTES,
  parseTunnelFrame,
  type ReplicaFrame,
  type TunnelFrame,
  toBase64,
} from "../../shared/endpoints/tunnel-protocol.js";
import { type BoardReplica, ReplicaBoard, type StoredReplica } from "./replica-board.js";
import { TUNNEL_HEADERS, TUNNEL_PATH } from "./tunnel-headers.js";
import { type StreamEnd, TunnelStream } from "./tunnel-stream.js";

const STORAGE_KEY = "endpoint-replicas";
/** Headers that describe one hop, not the request: never forwarded through the tunnel. */
const HOP_HEADERS = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "host",
]);
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

/** What the region tells its endpoints' objects: a replica's readiness changed. */
export type ReplicaChanged = (replica: BoardReplica) => void;

/** Whom a replica frame belongs to, when it comes from the attempt's current lease. */
export type ServiceOwner = (
  attemptId: string,
  nodeId: string,
  fencing: number,
) => { endpointId: string; jobId: string } | undefined;

interface SocketStreams {
  next: number;
  streams: Map<number, TunnelStream>;
}

/**
 * The region's side of the tunnels: its nodes' presence sockets carry request streams to their
 * replicas (tunnel-protocol.ts). It holds the replica board (which replicas are ready), answers
 * the endpoint's forwarded requests by opening a stream on the chosen replica's node, and
 * dispatches the frames its agents send.
 */
export class RegionTunnels {
  private board: ReplicaBoard | null = null;
  private readonly sockets = new Map<WebSocket, SocketStreams>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly ownerOf: ServiceOwner,
    private readonly changed: ReplicaChanged,
  ) {}

  static isTunnelRequest(request: Request): boolean {
    return new URL(request.url).pathname === TUNNEL_PATH;
  }

  /** The endpoint's replicas in this region (loaded from storage after a restart). */
  async replicas(endpointId: string): Promise<BoardReplica[]> {
    return (await this.loadedBoard()).of(endpointId).map((r) => ({ ...r }));
  }

  /**
   * A caller's request for an endpoint, forwarded by its object with the body already read:
   * ready replicas are tried in order until one's agent takes the stream. 503 with
   * `x-meridian-tunnel: unreachable` when none could (nothing reached a replica: the caller may try
   * another region); after that, whatever the replica answers, or 502 when it failed before a head.
   */
  async forward(request: Request): Promise<Response> {
    const arrivedAt = Date.now();
    const board = await this.loadedBoard();
    const endpointId = request.headers.get(TUNNEL_HEADERS.endpoint) ?? "";
    const affinity = request.headers.get(TUNNEL_HEADERS.affinity) ?? undefined;
    const path = request.headers.get(TUNNEL_HEADERS.path) ?? "/";
    const headers: [string, string][] = [];
    for (const [name, value] of request.headers) {
      if (!HOP_HEADERS.has(name) && !name.startsWith("x-meridian-tunnel-")) headers.push([name, value]);
    }
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : null;
    const tried = new Set<string>();
    for (;;) {
      const replica = board.choose(endpointId, affinity, tried);
      if (!replica) return unreachable(endpointId);
      tried.add(replica.attemptId);
      if (!this.ownerOf(replica.attemptId, replica.nodeId, replica.fencing)) {
        board.remove(replica.attemptId);
        await this.persist(board);
        continue;
      }
      const socket = this.socketOf(replica.nodeId);
      if (!socket) continue;
      // The caller going away aborts the request's signal at once (the Worker and the endpoint's
      // object pass theirs on), sooner than a cancelled body, which is noticed only at its next write.
      const abort = (): void => stream.cancel();
      const { stream, sendText } = this.open(socket, replica, () =>
        request.signal.removeEventListener("abort", abort),
      );
      request.signal.addEventListener("abort", abort, { once: true });
      const hasBody = body !== null && body.byteLength > 0;
      const open = {
        t: "open" as const,
        s: stream.id,
        attemptId: replica.attemptId,
        method: request.method,
        path,
        headers,
        body: hasBody,
      };
      // An agent that said `hello` takes a small body inside `open` (one message, no credit) and
      // may answer a small response inside `head`; an older one gets data frames and `end`.
      if (!inlineCapable(socket)) {
        sendText(open);
        void stream.sendBody(body ?? new Uint8Array());
      } else if (!hasBody) sendText({ ...open, inline: true });
      else if (body.byteLength <= MAX_INLINE_BODY_BYTES)
        sendText({ ...open, inline: true, data: toBase64(body) });
      else {
        sendText({ ...open, inline: true });
        void stream.sendBody(body);
      }
      const openedAt = Date.now();
      try {
        const head = await stream.waitHead();
        const headAt = Date.now();
        const out = new Headers();
        for (const [name, value] of head.headers)
          if (!HOP_HEADERS.has(name.toLowerCase())) out.append(name, value);
        out.set(TUNNEL_HEADERS.replica, replica.attemptId);
        addTiming(out, "region", openedAt - arrivedAt);
        addTiming(out, "tunnel", headAt - openedAt);
        const sse = (out.get("content-type") ?? "").includes("text/event-stream");
        const responseBody = stream.body(sse);
        if (NULL_BODY_STATUSES.has(head.status)) {
          void responseBody.pipeTo(new WritableStream()).catch(() => undefined);
          return new Response(null, { status: head.status, headers: out });
        }
        return new Response(responseBody, { status: head.status, headers: out });
      } catch (error) {
        const failure = error as { beforeReplica?: boolean; reason?: string; message?: string };
        if (failure.beforeReplica) continue;
        return Response.json(
          {
            error: {
              code: failure.reason ?? "upstream_failed",
              message: `the replica failed before answering: ${failure.message ?? String(error)}`,
            },
          },
          { status: 502, headers: { [TUNNEL_HEADERS.outcome]: "failed" } },
        );
      }
    }
  }

  /** Stops new traffic to a replica its endpoint is scaling away; true when it was known. */
  async drain(attemptId: string): Promise<boolean> {
    const board = await this.loadedBoard();
    if (!board.drain(attemptId, Date.now())) return board.get(attemptId) !== undefined;
    await this.persist(board);
    return true;
  }

  /** A message on a presence socket: a tunnel frame, or a data frame of one of its streams. */
  async message(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const streams = this.sockets.get(socket)?.streams;
    if (typeof message !== "string") {
      const data = decodeDataFrame(new Uint8Array(message));
      if (data) streams?.get(data.stream)?.onData(data.payload);
      return;
    }
    const frame = parseTunnelFrame(message);
    if (!frame) return;
    if (frame.t === "replica") {
      await this.replicaFrame(socket, frame);
      return;
    }
    if (frame.t === "hello") {
      // Kept on the socket itself, so it survives the object's hibernation.
      socket.serializeAttachment({ ...attachmentOf(socket), inline: true });
      return;
    }
    if (frame.t === "open") return;
    const stream = streams?.get(frame.s);
    if (!stream) return;
    if (frame.t === "head") stream.onHead(frame);
    else if (frame.t === "end") stream.onEnd();
    else if (frame.t === "credit") stream.onCredit(frame.bytes);
    else stream.fail(frame.reason, frame.message);
  }

  /** A presence socket closed: its streams end with an error, and its node's replicas take no traffic. */
  async socketClosed(socket: WebSocket, nodeId: string | undefined): Promise<void> {
    const entry = this.sockets.get(socket);
    this.sockets.delete(socket);
    for (const stream of entry?.streams.values() ?? [])
      stream.fail("replica_died", "the node's tunnel closed");
    if (nodeId === undefined) return;
    const board = await this.loadedBoard();
    const lost = board.nodeLost(nodeId, Date.now());
    if (lost.length === 0) return;
    await this.persist(board);
    for (const replica of lost) this.changed(replica);
  }

  private async replicaFrame(socket: WebSocket, frame: ReplicaFrame): Promise<void> {
    const nodeId = this.ctx.getTags(socket)[0];
    if (nodeId === undefined) return;
    const owner = this.ownerOf(frame.attemptId, nodeId, frame.fencing);
    if (!owner) return;
    const board = await this.loadedBoard();
    if (!board.apply(frame, { ...owner, nodeId }, Date.now())) return;
    await this.persist(board);
    const replica = board.get(frame.attemptId);
    if (replica) this.changed(replica);
  }

  private open(
    socket: WebSocket,
    replica: BoardReplica,
    done: () => void,
  ): { stream: TunnelStream; sendText: (frame: TunnelFrame) => void } {
    let entry = this.sockets.get(socket);
    if (!entry) {
      entry = { next: 1, streams: new Map() };
      this.sockets.set(socket, entry);
    }
    const id = entry.next;
    entry.next = entry.next >= 0xffff_ffff ? 1 : entry.next + 1;
    const streams = entry.streams;
    const sendText = (frame: TunnelFrame): void => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
    };
    const sendBinary = (bytes: Uint8Array): void => {
      // The frame's own buffer, not a view of it: some runtimes mishandle views on send.
      if (socket.readyState === WebSocket.OPEN) socket.send(new Uint8Array(bytes).buffer);
    };
    replica.inFlight += 1;
    const finished = (stream: TunnelStream, _end: StreamEnd): void => {
      streams.delete(stream.id);
      replica.inFlight = Math.max(0, replica.inFlight - 1);
      done();
    };
    const stream = new TunnelStream(id, sendText, sendBinary, finished);
    streams.set(id, stream);
    return { stream, sendText };
  }

  /** The node's newest open presence socket. */
  private socketOf(nodeId: string): WebSocket | undefined {
    return this.ctx
      .getWebSockets(nodeId)
      .filter((ws) => ws.readyState === WebSocket.OPEN)
      .at(-1);
  }

  private async loadedBoard(): Promise<ReplicaBoard> {
    if (!this.board) {
      const stored = await this.ctx.storage.get<StoredReplica[]>(STORAGE_KEY);
      this.board ??= new ReplicaBoard(stored ?? []);
    }
    return this.board;
  }

  private async persist(board: ReplicaBoard): Promise<void> {
    await this.ctx.storage.put(STORAGE_KEY, board.stored());
  }
}

function attachmentOf(socket: WebSocket): Record<string, unknown> {
  const value: unknown = socket.deserializeAttachment();
  return typeof value === "object" && value !== null ? { ...value } : {};
}

function inlineCapable(socket: WebSocket): boolean {
  return attachmentOf(socket).inline === true;
}

function unreachable(endpointId: string): Response {
  return Response.json(
    { error: { code: "no_ready_replica", message: `no ready replica of ${endpointId} in this region` } },
    { status: 503, headers: { [TUNNEL_HEADERS.outcome]: "unreachable" } },
  );
}
