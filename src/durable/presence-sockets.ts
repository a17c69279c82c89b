import { PRESENCE_PING, PRESENCE_PONG } from "../shared/presence-ping.js";
import type { AgentCaller } from "./region-records.js";

/** The header the Worker passes the checked caller of a presence socket in (internal, Worker → object). */
export const PRESENCE_CALLER_HEADER = "x-meridian-presence-caller";

/** The checked caller of a presence socket, with the agent session its signed URL named. */
export type PresenceCaller = AgentCaller & { session?: string };

/** The caller the Worker checked, from the forwarded upgrade; undefined when it is malformed. */
export function presenceCaller(request: Request): PresenceCaller | undefined {
  try {
    const value: unknown = JSON.parse(request.headers.get(PRESENCE_CALLER_HEADER) ?? "");
    if (typeof value !== "object" || value === null) return undefined;
    const { publicKey, nodeId, nonce, timestamp, session } = value as Record<string, unknown>;
    if (typeof publicKey !== "string" || typeof nonce !== "string" || typeof timestamp !== "number")
      return undefined;
    return {
      publicKey,
      nodeId: typeof nodeId === "string" ? nodeId : null,
      nonce,
      timestamp,
      ...(typeof session === "string" ? { session } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * Accepts a node's presence socket (hibernatable, tagged with its node id) and answers the
 * upgrade. The socket carries nothing; only its close matters.
 */
export function acceptPresence(ctx: DurableObjectState, nodeId: string): Response {
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  // Pings are answered without waking the object; the time of each is kept per socket.
  ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PRESENCE_PING, PRESENCE_PONG));
  ctx.acceptWebSocket(server, [nodeId]);
  return new Response(null, { status: 101, webSocket: client });
}

/** The node a closed presence socket belonged to, if no other socket of that node is still open. */
export function closedPresence(ctx: DurableObjectState, socket: WebSocket): string | undefined {
  const nodeId = ctx.getTags(socket)[0];
  if (nodeId === undefined) return undefined;
  const others = ctx.getWebSockets(nodeId).filter((ws) => ws !== socket && ws.readyState === WebSocket.OPEN);
  return others.length === 0 ? nodeId : undefined;
}

/**
 * The nodes whose presence has gone quiet: every open socket of theirs pinged once and then not for
 * `silenceMs` (a partition, or a host that froze, closes nothing). Those sockets are closed here; the
 * caller treats the nodes as if their connection dropped. A socket that never pinged (an agent from
 * before the keep-alive) is judged by its polls alone.
 */
export function silentPresences(ctx: DurableObjectState, now: number, silenceMs: number): string[] {
  const quiet = new Map<string, boolean>();
  const sockets = ctx.getWebSockets().filter((ws) => ws.readyState === WebSocket.OPEN);
  for (const socket of sockets) {
    const nodeId = ctx.getTags(socket)[0];
    if (nodeId === undefined) continue;
    const lastPing = ctx.getWebSocketAutoResponseTimestamp(socket);
    const silent = lastPing !== null && now - lastPing.getTime() > silenceMs;
    quiet.set(nodeId, (quiet.get(nodeId) ?? true) && silent);
  }
  const gone = [...quiet].filter(([, silent]) => silent).map(([nodeId]) => nodeId);
  for (const nodeId of gone) {
    for (const socket of ctx.getWebSockets(nodeId)) {
      try {
        socket.close(4000, "no ping within the presence silence limit");
      } catch {
        // Already closing: nothing more to do with it.
      }
    }
  }
  return gone;
}
