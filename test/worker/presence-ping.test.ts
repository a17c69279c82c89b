import { runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { silentPresences } from "../../src/durable/presence-sockets.js";
import { PRESENCE_PING, PRESENCE_PONG, PRESENCE_SILENCE_MS } from "../../src/shared/presence-ping.js";
import { TunnelEnd } from "./endpoints-support.js";
import { drainAgents, hardware, regionObject, TestAgent } from "./support.js";

/** The next text message on a socket, or undefined after `ms`. */
function nextText(socket: WebSocket, ms = 2_000): Promise<string | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    socket.addEventListener("message", (event) => {
      if (typeof event.data !== "string") return;
      clearTimeout(timer);
      resolve(event.data);
    });
  });
}

interface PresenceOf {
  state: { nodeBook: { presence: { nodes: Map<string, { droppedAt: number | null }> } } };
  sockets: { closeSilent(now: number): void };
}

// The presence socket's keep-alive, on the real Region object: pings are answered without the
// object's code, their times kept per socket, and a socket that pinged and then fell quiet (a
// partition closes nothing) counts as dropped at the next sweep, starting the reconnect window.
describe("presence pings", () => {
  afterEach(drainAgents);

  it("answers a ping with a pong and takes a socket that stopped pinging for dropped", async () => {
    const pinging = new TestAgent();
    await pinging.register(hardware());
    const silentOld = new TestAgent();
    await silentOld.register(hardware());
    const a = await TunnelEnd.open(pinging);
    const b = await TunnelEnd.open(silentOld);
    const pong = nextText(a.socket);
    a.socket.send(PRESENCE_PING);
    expect(await pong).toBe(PRESENCE_PONG);

    const later = Date.now() + PRESENCE_SILENCE_MS + 1_000;
    await runInDurableObject(regionObject(), (_instance, state) => {
      // Within the limit, nothing is silent; past it, only the socket that pinged (an agent that
      // never pings is left to its polls).
      expect(silentPresences(state, Date.now(), PRESENCE_SILENCE_MS)).toEqual([]);
    });
    await runInDurableObject(regionObject(), (instance) => {
      const region = instance as unknown as PresenceOf;
      region.sockets.closeSilent(later);
      const nodes = region.state.nodeBook.presence.nodes;
      expect(nodes.get(pinging.nodeId)?.droppedAt).toBe(later);
      expect(nodes.get(silentOld.nodeId)?.droppedAt ?? null).toBeNull();
    });
    b.socket.close();
  });

  it("keeps a node whose socket goes on pinging", async () => {
    const agent = new TestAgent();
    await agent.register(hardware());
    const end = await TunnelEnd.open(agent);
    for (let i = 0; i < 3; i++) {
      const pong = nextText(end.socket);
      end.socket.send(PRESENCE_PING);
      expect(await pong).toBe(PRESENCE_PONG);
    }
    await runInDurableObject(regionObject(), (_instance, state) => {
      expect(silentPresences(state, Date.now() + PRESENCE_SILENCE_MS - 500, PRESENCE_SILENCE_MS)).toEqual([]);
    });
    end.socket.close();
  });
});
