import { once } from "node:events";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type WebSocket from "ws";
import type { ControlPlaneClient } from "../../src/agent/control-plane-client.js";
import { PresenceSocket } from "../../src/agent/presence-socket.js";
import { PRESENCE_PING, PRESENCE_PONG } from "../../src/shared/presence-ping.js";

// The installed types are ws 7's; the CommonJS face has the server (as in tunnel-region.ts).
const { Server: WebSocketServer } = createRequire(import.meta.url)("ws") as typeof WebSocket;

const until = async (check: () => boolean, ms = 5_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

// The agent's side of the presence keep-alive, over a real WebSocket to a local server that stands
// in for the region: it pings, and when the pongs stop (a partition: nothing closes) it drops the
// socket and opens another by itself.
describe("presence socket pings", () => {
  let server: WebSocket.Server | undefined;
  let presence: PresenceSocket | undefined;
  afterEach(async () => {
    presence?.stop();
    await new Promise((resolve) => server?.close(resolve));
  });

  it("pings, and opens a new socket once pongs stop coming", async () => {
    server = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    let connections = 0;
    let pings = 0;
    let answering = true;
    server.on("connection", (socket: WebSocket) => {
      connections += 1;
      const mine = connections;
      socket.on("message", (data: Buffer) => {
        if (data.toString() !== PRESENCE_PING) return;
        pings += 1;
        // The first connection goes quiet after two pongs, as a partitioned link would.
        if (mine === 1 && pings > 2) answering = false;
        if (answering || mine > 1) socket.send(PRESENCE_PONG);
      });
    });
    const client = {
      presenceRequest: async () => ({ url: `ws://127.0.0.1:${port}/v1/agent/presence`, headers: {} }),
    } as unknown as ControlPlaneClient;
    const warnings: string[] = [];
    const log = { info: () => undefined, warn: (m: string) => warnings.push(m), error: () => undefined };
    presence = new PresenceSocket(client, log, undefined, { intervalMs: 50, timeoutMs: 300 });
    presence.start();
    await until(() => connections >= 2);
    expect(pings).toBeGreaterThan(2);
    expect(warnings.some((w) => /answered no ping/.test(w))).toBe(true);
    // The new socket is kept while it answers.
    const before = connections;
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(connections).toBe(before);
  });

  // The region (workerd) accepts permessage-deflate when offered, and then every message it sends
  // the agent is inflated on zlib's thread pool: the tunnel's latency. The agent never offers it.
  it("does not offer permessage-deflate, even to a server that would accept it", async () => {
    server = new WebSocketServer({ port: 0, host: "127.0.0.1", perMessageDeflate: true });
    await once(server, "listening");
    const { port } = server.address() as AddressInfo;
    const offered: (string | undefined)[] = [];
    const extensions: string[] = [];
    server.on("connection", (socket: WebSocket, request: { headers: Record<string, string | undefined> }) => {
      offered.push(request.headers["sec-websocket-extensions"]);
      extensions.push(socket.extensions);
    });
    const client = {
      presenceRequest: async () => ({ url: `ws://127.0.0.1:${port}/v1/agent/presence`, headers: {} }),
    } as unknown as ControlPlaneClient;
    const log = { info: () => undefined, warn: () => undefined, error: () => undefined };
    presence = new PresenceSocket(client, log);
    presence.start();
    await until(() => offered.length >= 1);
    expect(offered).toEqual([undefined]);
    expect(extensions).toEqual([""]);
  });
});
