import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { shardOf } from "../../src/durable/scheduler/index.js";
import type { Assignment } from "../../src/shared/agent-protocol.js";
import { publicKeyOf } from "../../src/shared/agent-signature.js";
import type { OpenFrame } from "../../src/shared/endpoints/tunnel-protocol.js";
import { nodeIdForPublicKey } from "../../src/shared/ids.js";
import { settle, TunnelEnd } from "./endpoints-support.js";
import { authed, call, drainAgents, H100, hardware, jobOf, jsonInit, signup, TestAgent } from "./support.js";

// vitest.workers.config.ts splits "sa-east" into 3 Region objects (REGION_SHARDS). An endpoint
// there places its replicas through the region's coordinator, so they land on every shard's nodes,
// and reaches each replica's tunnel in the shard that holds its node.
const REGION = "sa-east";
const SHARDS = 3;
const tunnels: TunnelEnd[] = [];
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function endpointObject(id: string) {
  return env.ENDPOINT.get(env.ENDPOINT.idFromName(id));
}

let uuid = 0;

/** One agent per shard of sa-east, each with one H100: room for one replica of one GPU. */
async function agentPerShard(): Promise<TestAgent[]> {
  const byShard: (TestAgent | undefined)[] = Array.from({ length: SHARDS }, () => undefined);
  while (byShard.some((a) => a === undefined)) {
    const agent = new TestAgent();
    const shard = shardOf(await nodeIdForPublicKey(await publicKeyOf(agent.secretKey)), SHARDS);
    if (byShard[shard] === undefined) {
      uuid++;
      const gpu = { ...H100, uuid: `GPU-${String(uuid).padStart(8, "0")}-7777-0000-0000-000000000000` };
      await agent.register(hardware([gpu]), { region: REGION, pricePerGpuHour: "0.10" });
      byShard[shard] = agent;
    }
  }
  return byShard.filter((a): a is TestAgent => a !== undefined);
}

/** The next request any of these tunnels receives, and which tunnel took it. */
async function openOnAny(ends: readonly TunnelEnd[]): Promise<{ at: number; open: OpenFrame }> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    for (const [at, end] of ends.entries()) {
      const i = end.received.findIndex((r) => r.kind === "frame" && r.frame.t === "open");
      const found = end.received[i];
      if (found?.kind === "frame" && found.frame.t === "open") {
        end.received.splice(i, 1);
        return { at, open: found.frame };
      }
    }
    if (Date.now() > deadline) throw new Error("no tunnel received the request");
    await settle(20);
  }
}

describe("an endpoint in a sharded region", { timeout: 60_000 }, () => {
  afterEach(async () => {
    for (const t of tunnels.splice(0)) t.close();
    await settle();
    await drainAgents();
  });

  it("places replicas on every shard's nodes and serves through each shard's tunnels", async () => {
    const { apiKey } = await signup();
    const agents = await agentPerShard();
    const res = await call(
      "/v1/endpoints",
      jsonInit(
        "POST",
        {
          name: "sharded",
          image: "meridian/llm:test",
          port: 8080,
          readiness: { path: "/health" },
          resources: { gpus: 1, cpus: 1, memoryGb: 1 },
          regions: [REGION],
          replicas: { min: 3, max: 3 },
        },
        apiKey,
      ),
    );
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    await runDurableObjectAlarm(endpointObject(id));

    // Each shard's one GPU holds one replica: the coordinator sent each placement to a shard with room.
    const assigned: Assignment[] = [];
    for (const agent of agents) {
      const a = (await agent.poll()).assignments.find((x) => x.service?.endpointId === id);
      if (!a) throw new Error(`no replica on ${agent.nodeId}`);
      assigned.push(a);
      await agent.start(a);
    }
    expect(new Set(assigned.map((a) => shardOf(a.jobId, SHARDS)))).toEqual(new Set([0, 1, 2]));
    const ends: TunnelEnd[] = [];
    for (const [i, agent] of agents.entries()) {
      const end = await TunnelEnd.open(agent);
      tunnels.push(end);
      ends.push(end);
      const a = assigned[i];
      if (a) end.ready(a);
    }
    for (let i = 0; i < 100; i++) {
      const { replicas } = (await (await call(`/v1/endpoints/${id}/replicas`, authed(apiKey))).json()) as {
        replicas: { state: string; region: string; nodeId: string }[];
      };
      if (replicas.filter((r) => r.state === "ready").length === SHARDS) {
        expect(new Set(replicas.map((r) => r.nodeId))).toEqual(new Set(agents.map((a) => a.nodeId)));
        break;
      }
      if (i === 99) throw new Error("the replicas did not all become ready");
      await settle(50);
    }

    const chat = (headers: Record<string, string> = {}): Promise<Response> =>
      call("/v1/chat/completions", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}`, ...headers },
        body: JSON.stringify({ model: "sharded", messages: [{ role: "user", content: "hi" }] }),
      });
    const serveOne = async (headers: Record<string, string> = {}): Promise<number> => {
      const pending = chat(headers);
      const { at, open } = await openOnAny(ends);
      const end = ends[at];
      if (!end) throw new Error("no such tunnel");
      await end.body(open.s);
      end.send({ t: "head", s: open.s, status: 200, headers: [["content-type", "application/json"]] });
      end.sendData(open.s, text(`{"served_by":${at}}`));
      end.send({ t: "end", s: open.s });
      const answer = await pending;
      expect(answer.status).toBe(200);
      expect(await answer.text()).toBe(`{"served_by":${at}}`);
      return at;
    };

    // Traffic reaches every shard's replica (the first shard tried takes turns).
    const served = new Set<number>();
    for (let i = 0; i < 30 && served.size < SHARDS; i++) served.add(await serveOne());
    expect(served).toEqual(new Set([0, 1, 2]));
    // An affinity key keeps its requests on one shard's replica.
    const sticky = new Set<number>();
    for (let i = 0; i < 6; i++) sticky.add(await serveOne({ "x-meridian-affinity": "session-7" }));
    expect(sticky.size).toBe(1);

    // Deleting the endpoint stops every shard's replica (each cancel reaches the job's own shard).
    expect((await call(`/v1/endpoints/${id}`, authed(apiKey, "DELETE"))).status).toBe(200);
    for (const a of assigned) expect((await jobOf(apiKey, a.jobId)).status).toMatch(/^cancel/);
  });
});
