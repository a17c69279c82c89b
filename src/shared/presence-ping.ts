/**
 * The presence socket's keep-alive (src/agent/presence-socket.ts, src/durable/presence-sockets.ts).
 * The agent sends PING as a text message every PRESENCE_PING_INTERVAL_MS; the Region object answers
 * PONG by its WebSocket auto-response, without waking, and keeps the time of the last one. A
 * partition closes nothing, so these are how each side notices one: the agent when no PONG came for
 * PRESENCE_PONG_TIMEOUT_MS (it drops the socket and opens another), the region when a socket that
 * pinged has been quiet for its silence limit (PRESENCE_SILENCE_MS, as if it had closed).
 */
export const PRESENCE_PING = "ping";
export const PRESENCE_PONG = "pong";
export const PRESENCE_PING_INTERVAL_MS = 2_000;
export const PRESENCE_PONG_TIMEOUT_MS = 7_000;
/** The region's default: three pings missed, with room for a slow link's jitter. */
export const PRESENCE_SILENCE_MS = 7_000;
