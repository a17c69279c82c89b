import { afterEach, describe, expect, it } from "vitest";
import { challengeOf, finish, providerView, sample, submitted } from "./node-standing-support.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  h100Numbered,
  hardware,
  jobOf,
  ownedAgent,
  signup,
} from "./support.js";

describe("node metrics and health", () => {
  afterEach(drainAgents);

  it("keeps the series a poll carries and calls a GPU at 95 °C hot", async () => {
    const { agent, apiKey: ownerKey } = await ownedAgent(hardware([h100Numbered(10)]));
    const t0 = Date.now();
    const cool = sample(t0, { utilizationPct: 40, temperatureC: 60, powerW: 300, smClockMhz: 1980 });
    expect((await agent.send("/v1/agent/poll", { running: [], waitMs: 0, metrics: cool })).status).toBe(200);
    const hot = sample(t0 + 1, { utilizationPct: 99, temperatureC: 95, powerW: 690, smClockMhz: 1400 });
    expect((await agent.send("/v1/agent/poll", { running: [], waitMs: 0, metrics: hot })).status).toBe(200);

    const res = await call(`/v1/nodes/${agent.nodeId}/metrics`, authed(ownerKey));
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      nodeId: string;
      health: { hot: boolean; gpuErrors: boolean; notices: string[] };
      series: { at: string; gpus: { temperatureC?: number }[] }[];
    };
    expect(body.nodeId).toBe(agent.nodeId);
    expect(body.series.map((s) => s.gpus[0]?.temperatureC)).toEqual([60, 95]);
    expect(body.series[1]?.at).toBe(new Date(t0 + 1).toISOString());
    expect(body.health.hot).toBe(true);
    expect(body.health.gpuErrors).toBe(false);
    expect(body.health.notices.join("\n")).toMatch(/GPU 0 is at 95 °C/);

    const view = await providerView(ownerKey, agent.nodeId);
    expect(view.health.hot).toBe(true);
    expect(view.health.notices.some((n) => n.includes("95 °C"))).toBe(true);

    // Any signed-in account may read a node's metrics; a bad or unknown id is 404.
    const { apiKey: someone } = await signup();
    expect((await call(`/v1/nodes/${agent.nodeId}/metrics`, authed(someone))).status).toBe(200);
    await expectError(await call("/v1/nodes/node_nope/metrics", authed(someone)), 404, "node_not_found");
    await expectError(
      await call(`/v1/nodes/node_${"0".repeat(26)}/metrics`, authed(someone)),
      404,
      "node_not_found",
    );
    await expectError(
      await agent.send("/v1/agent/poll", { running: [], metrics: { at: t0 } }),
      400,
      "invalid_request",
    );
  });

  it("calls a GPU with a hardware slowdown hot, and takes samples with [N/A] fields", async () => {
    const { agent, apiKey: ownerKey } = await ownedAgent(hardware([h100Numbered(11)]));
    const t0 = Date.now();
    // nvidia-smi reported [N/A] for everything but memory: the fields are absent, and that is fine.
    const bare = sample(t0, {});
    expect((await agent.send("/v1/agent/poll", { running: [], waitMs: 0, metrics: bare })).status).toBe(200);
    let health = (await providerView(ownerKey, agent.nodeId)).health;
    expect(health).toMatchObject({ hot: false, gpuErrors: false, notices: [] });

    const throttled = sample(t0 + 1, { hwSlowdown: true, utilizationPct: 100 });
    expect((await agent.send("/v1/agent/poll", { running: [], waitMs: 0, metrics: throttled })).status).toBe(
      200,
    );
    health = (await providerView(ownerKey, agent.nodeId)).health;
    expect(health.hot).toBe(true);
    expect(health.notices.join("\n")).toMatch(/hardware slowdown/);

    const metrics = (await (await call(`/v1/nodes/${agent.nodeId}/metrics`, authed(ownerKey))).json()) as {
      series: { gpus: Record<string, unknown>[] }[];
    };
    expect(metrics.series).toHaveLength(2);
    expect(metrics.series[0]?.gpus[0]).toEqual({ index: 0, memoryUsedMib: 2048 });
    expect(metrics.series[1]?.gpus[0]).toMatchObject({ hwSlowdown: true });

    // The slowdown clears: healthy again.
    const calm = sample(t0 + 2, { hwSlowdown: false, temperatureC: 55 });
    expect((await agent.send("/v1/agent/poll", { running: [], waitMs: 0, metrics: calm })).status).toBe(200);
    expect((await providerView(ownerKey, agent.nodeId)).health.hot).toBe(false);
  });
});

describe("the inventory", () => {
  afterEach(drainAgents);

  it("lists verification, verified TFLOP/s, price per verified TFLOP-hour and reputation per node", async () => {
    const { agent: gpuNode } = await ownedAgent(hardware([h100Numbered(20)]));
    const { agent: cpuNode } = await ownedAgent(hardware([], 8, 16_384));
    const { apiKey } = await signup();
    const res = await call("/v1/nodes", authed(apiKey));
    expect(res.status).toBe(200);
    const { nodes } = (await res.json()) as { nodes: Record<string, unknown>[] };
    const gpu = nodes.find((n) => n.id === gpuNode.nodeId);
    const cpu = nodes.find((n) => n.id === cpuNode.nodeId);
    for (const node of [gpu, cpu]) {
      expect(node).toBeDefined();
      expect(node).toHaveProperty("verification");
      expect(node).toHaveProperty("verifiedTflops");
      expect(node).toHaveProperty("pricePerVerifiedTflopHour");
      expect(typeof node?.reputation).toBe("number");
    }
    // Not proven yet (tests admit unverified GPUs): no verified figures, so no price per TFLOP.
    expect(gpu).toMatchObject({
      verification: "unverified",
      verifiedTflops: null,
      pricePerVerifiedTflopHour: null,
    });
    expect(cpu).toMatchObject({
      verification: "not_required",
      verifiedTflops: null,
      pricePerVerifiedTflopHour: null,
    });
    // Once its poll carries the challenge, it is pending.
    await challengeOf(gpuNode);
    const again = (await (await call("/v1/nodes", authed(apiKey))).json()) as {
      nodes: Record<string, unknown>[];
    };
    expect(again.nodes.find((n) => n.id === gpuNode.nodeId)?.verification).toBe("pending");
  });

  it("places work on a trusted host (runtime host) as on a Docker node, never on runtime none", async () => {
    const { agent: idle } = await ownedAgent(hardware([], 64, 262_144), { runtime: "none" });
    const { agent: host } = await ownedAgent(hardware([], 2, 4096), { runtime: "host" });
    const { apiKey: user } = await signup();
    const id = await submitted(user, { name: "on-host" });
    expect((await idle.poll()).assignments).toEqual([]);
    const a = (await host.poll()).assignments.find((x) => x.jobId === id);
    if (!a) throw new Error("the host-runtime node got no work");
    await finish(host, a, 0);
    expect((await jobOf(user, id)).status).toBe("succeeded");
  });
});
