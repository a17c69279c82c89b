import WebSocket from "ws";
import {
  PRESENCE_PING,
  PRESENCE_PING_INTERVAL_MS,
  PRESENCE_PONG,
  PRESENCE_PONG_TIMEOUT_MS,
} from "../shared/presence-ping.js";
import type { AgentLog } from "./agent-log.js";
import type { ControlPlaneClient } from "./control-plane-client.js";

/**
 * A WebSocket the agent keeps open to its region while it runs. It exists so that when this
 * process dies (a crash, SIGKILL, a host that loses power) the region sees the connection close at
 * once and places the node's work elsewhere after a short reconnect window, instead of waiting for
 * a lease to lapse. Reopened whenever it closes while the agent runs. Endpoint traffic rides it
 * too: each socket that opens is handed to the tunnel (src/agent/tunnel/tunnel-client.ts).
 *
 * A partition closes nothing, so the socket pings (src/shared/presence-ping.ts): the region takes a
 * socket that stopped pinging for dropped, and this side drops one whose pongs stopped and opens
 * another, so that when the link heals the agent is back within a few seconds.
 */
export class PresenceSocket {
  private socket: WebSocket | undefined;
  private stopped = false;
  private failures = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private pinger: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly client: ControlPlaneClient,
    private readonly log: AgentLog,
    private readonly tunnel?: { attach(socket: WebSocket): void },
    private readonly pings = { intervalMs: PRESENCE_PING_INTERVAL_MS, timeoutMs: PRESENCE_PONG_TIMEOUT_MS },
  ) {}

  start(): void {
    if (this.stopped || this.socket) return;
    void this.open();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopPinging();
    this.socket?.close(1000, "agent stopping");
    this.socket = undefined;
  }

  private async open(): Promise<void> {
    let request: { url: string; headers: Record<string, string> };
    try {
      request = await this.client.presenceRequest();
    } catch (error) {
      this.retry(`could not sign the presence socket: ${String(error)}`);
      return;
    }
    if (this.stopped) return;
    // No permessage-deflate: ws offers it by default and workerd accepts, and then every message
    // the region sends (each tunnel head, body and pong) is inflated on zlib's thread pool, a
    // round trip through libuv per message: on localhost that alone was most of the socket's
    // round trip (a 1.5 kB echo 0.20 ms with it, 0.06 without; p99 1.38 against 0.14 ms).
    // Bodies are model traffic, mostly small or already compact; latency matters more here.
    const socket = new WebSocket(request.url, { headers: request.headers, perMessageDeflate: false });
    this.socket = socket;
    socket.on("open", () => {
      this.failures = 0;
      this.tunnel?.attach(socket);
      this.startPinging(socket);
    });
    socket.on("unexpected-response", (_request, response) => {
      this.retry(`the presence socket was refused (${response.statusCode})`);
      socket.terminate();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.stopPinging();
      this.retry();
    });
  }

  private startPinging(socket: WebSocket): void {
    this.stopPinging();
    // Judged only once a pong came: a region from before the keep-alive never answers, and its
    // sockets must not be dropped every few seconds for it.
    let lastPong: number | undefined;
    socket.on("message", (data: Buffer, isBinary: boolean) => {
      if (!isBinary && data.toString("utf8") === PRESENCE_PONG) lastPong = Date.now();
    });
    this.pinger = setInterval(() => {
      if (this.socket !== socket || socket.readyState !== WebSocket.OPEN) return;
      const quiet = lastPong === undefined ? 0 : Date.now() - lastPong;
      if (quiet > this.pings.timeoutMs) {
        this.log.warn(
          `the presence socket answered no ping for ${Math.round(quiet / 1000)} s; opening another`,
        );
        // terminate, not close: a partitioned peer would never answer a closing handshake.
        socket.terminate();
        return;
      }
      socket.send(PRESENCE_PING);
    }, this.pings.intervalMs);
    this.pinger.unref?.();
  }

  private stopPinging(): void {
    if (this.pinger) clearInterval(this.pinger);
    this.pinger = undefined;
  }

  private retry(why?: string): void {
    if (this.stopped || this.timer) return;
    this.failures += 1;
    if (why && this.failures <= 3) this.log.warn(why);
    // Back quickly after a blip (the region's reconnect window is a few seconds), slower when refused.
    const delay = Math.min(10_000, 250 * 2 ** Math.min(this.failures - 1, 6));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.open();
    }, delay);
  }
}
