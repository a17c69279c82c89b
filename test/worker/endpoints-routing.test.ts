import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Assignment } from "../../src/shared/agent-protocol.js";
import type { OpenFrame } from "../../src/shared/endpoints/tunnel-protocol.js";
import { settle, TunnelEnd } from "./endpoints-support.js";
import { authed, call, drainAgents, hardware, jsonInit, signup, TestAgent } from "./support.js";

// Where the gateway sends a caller: the nearest region with a ready replica (by the caller's
// location against the regions' centroids), then the next-nearest while a region's replicas refuse
// before any byte reached them; and what a caller at zero replicas meets: a wait for the cold
// start, bounded, then 503 with Retry-After.

/** Callers (lat,lon): New York is nearest us-east, then us-west, then eu-west; Frankfurt is in eu-west. */
const NEW_YORK = "40.7,-74.0";
const FRANKFURT = "50.1,8.7";
const REGIONS = ["us-east", "eu-west", "us-west"] as const;
type Region = (typeof REGIONS)[number];

const tunnels: TunnelEnd[] = [];
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

interface Serving {
  tunnel: TunnelEnd;
  a: Assignment;
}

function endpointObject(id: string) {
  return env.ENDPOINT.get(env.ENDPOINT.idFromName(id));
}

async function replicasOf(apiKey: string, id: string): Promise<{ region: string; state: string }[]> {
  const res = await call(`/v1/endpoints/${id}/replicas`, authed(apiKey));
  return ((await res.json()) as { replicas: { region: string; state: string }[] }).replicas;
}

function chat(apiKey: string, model: string, location: string): Promise<Response> {
  return call("/v1/chat/completions", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      authorization: `Bearer ${apiKey}`,
      "x-meridian-dev-location": location,
    },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
}

/** Takes the tunnel's next `open` (waiting a bounded time), or undefined when none came. */
async function openOn(tunnel: TunnelEnd): Promise<OpenFrame | undefined> {
  return tunnel.frame("open").then(
    (r) => r.frame,
    () => undefined,
  );
}

/** Answers one non-streaming completion on a stream the tunnel took. */
async function answer(tunnel: TunnelEnd, open: OpenFrame, content: string): Promise<void> {
  await tunnel.body(open.s);
  tunnel.send({ t: "head", s: open.s, status: 200, headers: [["content-type", "application/json"]] });
  tunnel.sendData(open.s, text(JSON.stringify({ object: "chat.completion", content })));
  tunnel.send({ t: "end", s: open.s });
}

/** A node in `region` that takes the endpoint's replica placed there, its tunnel open, reported ready. */
async function serveIn(region: Region, endpointId: string): Promise<Serving> {
  const agent = new TestAgent();
  await agent.register(hardware([], 1, 1024), { region });
  for (let i = 0; i < 50; i++) {
    const a = (await agent.poll()).assignments.find((x) => x.service?.endpointId === endpointId);
    if (a) {
      await agent.start(a);
      const tunnel = await TunnelEnd.open(agent);
      tunnels.push(tunnel);
      tunnel.ready(a);
      return { tunnel, a };
    }
    await settle(50);
  }
  throw new Error(`no replica of ${endpointId} was assigned in ${region}`);
}

describe("endpoints: region choice, failover order and cold starts", { timeout: 45_000 }, () => {
  afterEach(async () => {
    for (const t of tunnels.splice(0)) t.close();
    await settle();
    await drainAgents();
  });

  it("serves each caller from its nearest region, and fails over nearest-first only while nothing reached a replica", async () => {
    const { apiKey } = await signup();
    const created = await call(
      "/v1/endpoints",
      jsonInit(
        "POST",
        {
          name: "geo",
          image: "meridian/llm:test",
          port: 8080,
          readiness: { path: "/health" },
          resources: { cpus: 1, memoryGb: 1 },
          regions: [...REGIONS],
          replicas: { min: 3, max: 3 },
        },
        apiKey,
      ),
    );
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await runDurableObjectAlarm(endpointObject(id));
    // min 3 over three regions: one replica in each.
    const serving = new Map<Region, Serving>();
    for (const region of REGIONS) serving.set(region, await serveIn(region, id));
    for (let i = 0; i < 100; i++) {
      const replicas = await replicasOf(apiKey, id);
      if (replicas.filter((r) => r.state === "ready").length === 3) break;
      await settle(50);
    }
    expect((await replicasOf(apiKey, id)).map((r) => `${r.region}:${r.state}`).sort()).toEqual([
      "eu-west:ready",
      "us-east:ready",
      "us-west:ready",
    ]);
    const at = (region: Region): Serving => {
      const s = serving.get(region);
      if (!s) throw new Error(`nothing serves ${region}`);
      return s;
    };
    const nothingOpened = (...regions: Region[]): void => {
      for (const region of regions)
        expect(at(region).tunnel.received.some((r) => r.kind === "frame" && r.frame.t === "open")).toBe(
          false,
        );
    };

    // Nearest first: New York → us-east, Frankfurt → eu-west.
    for (const [location, region, others] of [
      [NEW_YORK, "us-east", ["eu-west", "us-west"]],
      [FRANKFURT, "eu-west", ["us-east", "us-west"]],
    ] as const) {
      const pending = chat(apiKey, "geo", location);
      const open = await openOn(at(region).tunnel);
      if (!open) throw new Error(`${region} got no stream`);
      expect(open.attemptId).toBe(at(region).a.attemptId);
      await answer(at(region).tunnel, open, region);
      const res = await pending;
      expect(res.status).toBe(200);
      expect(res.headers.get("x-meridian-replica")).toBe(at(region).a.attemptId);
      expect(await res.json()).toMatchObject({ content: region });
      nothingOpened(...others);
    }

    // us-east's agent refuses (nothing reached a container): the same request goes to us-west,
    // the next-nearest to New York; when it refuses too, to eu-west — never the other way round.
    const failover = chat(apiKey, "geo", NEW_YORK);
    const first = await openOn(at("us-east").tunnel);
    if (!first) throw new Error("us-east got no stream");
    nothingOpened("us-west", "eu-west");
    at("us-east").tunnel.send({ t: "reset", s: first.s, reason: "unknown_replica", message: "gone" });
    const second = await openOn(at("us-west").tunnel);
    if (!second) throw new Error("us-west got no stream after us-east refused");
    nothingOpened("eu-west");
    at("us-west").tunnel.send({ t: "reset", s: second.s, reason: "unknown_replica", message: "gone" });
    const third = await openOn(at("eu-west").tunnel);
    if (!third) throw new Error("eu-west got no stream after us-west refused");
    // The retried request carries the caller's bytes unchanged.
    await answer(at("eu-west").tunnel, third, "eu-west, third choice");
    const served = await failover;
    expect(served.status).toBe(200);
    expect(served.headers.get("x-meridian-replica")).toBe(at("eu-west").a.attemptId);

    // Once the request reached a container, a failure is the caller's answer (502), not a retry
    // elsewhere: the replica may already have acted on it.
    const reached = chat(apiKey, "geo", NEW_YORK);
    const taken = await openOn(at("us-east").tunnel);
    if (!taken) throw new Error("us-east got no stream");
    at("us-east").tunnel.send({ t: "reset", s: taken.s, reason: "upstream_failed", message: "boom" });
    const failed = await reached;
    expect(failed.status).toBe(502);
    expect(((await failed.json()) as { error: { code: string } }).error.code).toBe("upstream_failed");
    await settle(300);
    nothingOpened("us-west", "eu-west");
  });

  it("holds a request at zero replicas while one is placed and becomes ready, then serves it", async () => {
    const { apiKey } = await signup();
    const created = await call(
      "/v1/endpoints",
      jsonInit(
        "POST",
        {
          name: "cold",
          image: "meridian/llm:test",
          port: 8080,
          readiness: { path: "/health" },
          resources: { cpus: 1, memoryGb: 1 },
          regions: ["us-west"],
          replicas: { min: 0, max: 1 },
          scaling: { maxColdStartWaitSeconds: 30 },
        },
        apiKey,
      ),
    );
    const { id } = (await created.json()) as { id: string };
    expect(await replicasOf(apiKey, id)).toEqual([]);
    let settled = false;
    const pending = chat(apiKey, "cold", NEW_YORK).finally(() => {
      settled = true;
    });
    // The waiting request itself starts the replica; it is still waiting while the node starts it.
    const { tunnel, a } = await serveIn("us-west", id);
    await settle(200);
    expect(settled).toBe(false);
    const open = await openOn(tunnel);
    if (!open) throw new Error("the cold-started replica got no stream");
    expect(open.attemptId).toBe(a.attemptId);
    await answer(tunnel, open, "after a cold start");
    const res = await pending;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ content: "after a cold start" });
    const metrics = (await (await call(`/v1/endpoints/${id}/metrics`, authed(apiKey))).json()) as {
      coldStarts: number;
      requests: number;
      errors: number;
    };
    expect(metrics).toMatchObject({ coldStarts: 1, requests: 1, errors: 0 });
    const events = (await (await call(`/v1/endpoints/${id}/events`, authed(apiKey))).json()) as {
      events: { type: string; message: string }[];
    };
    expect(events.events.some((e) => e.type === "scaled" && /cold start/.test(e.message))).toBe(true);
  });

  it("gives up on a cold start at its bound: 503 with Retry-After, counted as an error", async () => {
    const { apiKey } = await signup();
    // No node in ap-southeast: the replica stays queued.
    const created = await call(
      "/v1/endpoints",
      jsonInit(
        "POST",
        {
          name: "nowhere",
          image: "meridian/llm:test",
          port: 8080,
          readiness: { path: "/health" },
          resources: { cpus: 1, memoryGb: 1 },
          regions: ["ap-southeast"],
          replicas: { min: 0, max: 1 },
          scaling: { maxColdStartWaitSeconds: 2, scaleUpWindowSeconds: 5 },
        },
        apiKey,
      ),
    );
    const { id } = (await created.json()) as { id: string };
    const startedAt = Date.now();
    const res = await chat(apiKey, "nowhere", FRANKFURT);
    const waited = Date.now() - startedAt;
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("no_ready_replica");
    // It waited for its bound before giving up.
    expect(waited).toBeGreaterThanOrEqual(1_900);
    const replicas = (await (await call(`/v1/endpoints/${id}/replicas`, authed(apiKey))).json()) as {
      replicas: { region: string; state: string; detail: string }[];
    };
    expect(replicas.replicas).toMatchObject([{ region: "ap-southeast", state: "pending" }]);
    const metrics = (await (await call(`/v1/endpoints/${id}/metrics`, authed(apiKey))).json()) as {
      requests: number;
      errors: number;
    };
    expect(metrics).toMatchObject({ requests: 1, errors: 1 });
  });
});
