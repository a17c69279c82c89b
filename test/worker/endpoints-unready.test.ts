import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { settle, TunnelEnd } from "./endpoints-support.js";
import { authed, call, drainAgents, hardware, jsonInit, signup, TestAgent } from "./support.js";

const tunnels: TunnelEnd[] = [];

// A replica whose readiness probe never passes: no traffic reaches it, the endpoint's events say
// why (the probe and its status, as the agent reports it), and a caller gets 503 with Retry-After
// once its cold-start bound passes — not a hang.
describe("endpoints: a replica that never becomes ready", { timeout: 30_000 }, () => {
  afterEach(async () => {
    for (const t of tunnels.splice(0)) t.close();
    await settle();
    await drainAgents();
  });

  it("says why in the events, and answers callers 503 with Retry-After after the bound", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([], 1, 1024));
    const created = await call(
      "/v1/endpoints",
      jsonInit(
        "POST",
        {
          name: "never-ready",
          image: "meridian/llm:test",
          port: 8080,
          readiness: { path: "/nope" },
          resources: { cpus: 1, memoryGb: 1 },
          regions: ["eu-west"],
          replicas: { min: 1, max: 1 },
          scaling: { maxColdStartWaitSeconds: 2, scaleUpWindowSeconds: 3 },
        },
        apiKey,
      ),
    );
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await runDurableObjectAlarm(env.ENDPOINT.get(env.ENDPOINT.idFromName(id)));
    const a = (await agent.poll()).assignments.find((x) => x.service?.endpointId === id);
    if (!a) throw new Error("the replica was not assigned");
    await agent.start(a);
    const tunnel = await TunnelEnd.open(agent);
    tunnels.push(tunnel);
    tunnel.send({
      t: "replica",
      attemptId: a.attemptId,
      fencing: a.fencing,
      state: "unready",
      detail: "probe GET /nope → 404",
      at: Date.now(),
    });

    let events: { type: string; message: string }[] = [];
    for (let i = 0; i < 100 && !events.some((e) => e.type === "replica_unhealthy"); i++) {
      await settle(50);
      const listed = (await (await call(`/v1/endpoints/${id}/events`, authed(apiKey))).json()) as {
        events: typeof events;
      };
      events = listed.events;
    }
    expect(events.find((e) => e.type === "replica_unhealthy")?.message).toMatch(
      /is not ready: probe GET \/nope → 404/,
    );
    const replicas = (await (await call(`/v1/endpoints/${id}/replicas`, authed(apiKey))).json()) as {
      replicas: { state: string; detail: string }[];
    };
    expect(replicas.replicas).toMatchObject([{ state: "unready", detail: "probe GET /nope → 404" }]);

    const startedAt = Date.now();
    const res = await call("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ model: "never-ready", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("3");
    const body = (await res.json()) as { error: { code: string; type: string } };
    expect(body.error).toMatchObject({ code: "no_ready_replica", type: "server_error" });
    // It waited for its bound (2 s), then gave up; nothing was opened toward the unready replica.
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1_900);
    expect(tunnel.received.some((r) => r.kind === "frame" && r.frame.t === "open")).toBe(false);
  });
});
