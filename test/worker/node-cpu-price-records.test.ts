import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { authed, call, drainAgents, expectError, hardware, signup, TestAgent } from "./support.js";

/**
 * Issue 10: a node's own price per vCPU-hour is kept in D1 `nodes` beside its GPU price (written
 * through the region's outbox at each registration), and listings say whether the price a node
 * shows is its provider's or the CPU table's.
 */
const TABLE_RATE = "0.009483";

interface Listed {
  id: string;
  pricePerVcpuHour?: string;
  cpuPriceSource?: string;
}

async function listed(apiKey: string, nodeId: string): Promise<Listed | undefined> {
  const body = (await (await call("/v1/nodes", authed(apiKey))).json()) as { nodes: Listed[] };
  return body.nodes.find((node) => node.id === nodeId);
}

interface NodeRow {
  price_per_gpu_hour_micros: number;
  price_per_vcpu_hour_micros: number | null;
  updated_at: number;
}

async function rowOf(nodeId: string): Promise<NodeRow | null> {
  return env.DB.prepare(
    "SELECT price_per_gpu_hour_micros, price_per_vcpu_hour_micros, updated_at FROM nodes WHERE id = ?",
  )
    .bind(nodeId)
    .first<NodeRow>();
}

async function cpuNode(extra: Record<string, unknown>): Promise<TestAgent> {
  const agent = new TestAgent();
  await agent.register(hardware([], 16, 65_536), { pricePerGpuHour: "0.00", ...extra });
  return agent;
}

describe("a node's CPU price in D1 nodes and in listings", () => {
  afterEach(drainAgents);

  it("stores the provider's price per vCPU-hour and lists it as the node's own", async () => {
    const { apiKey } = await signup();
    const agent = await cpuNode({ pricePerVcpuHour: "0.012" });
    expect(await rowOf(agent.nodeId)).toMatchObject({
      price_per_gpu_hour_micros: 0,
      price_per_vcpu_hour_micros: 12_000,
    });
    expect(await listed(apiKey, agent.nodeId)).toMatchObject({
      pricePerVcpuHour: "0.012",
      cpuPriceSource: "node",
    });
  });

  it("stores none for a node that sets none, listed at the table's rate as the table's", async () => {
    const { apiKey } = await signup();
    const agent = await cpuNode({});
    expect(await rowOf(agent.nodeId)).toMatchObject({ price_per_vcpu_hour_micros: null });
    expect(await listed(apiKey, agent.nodeId)).toMatchObject({
      pricePerVcpuHour: TABLE_RATE,
      cpuPriceSource: "table",
    });
  });

  it("follows a re-registration: a new price replaces the old, and none goes back to the table", async () => {
    const { apiKey } = await signup();
    const agent = await cpuNode({ pricePerVcpuHour: "0.02" });
    await agent.register(hardware([], 16, 65_536), { pricePerGpuHour: "0.00", pricePerVcpuHour: "0.015" });
    expect((await rowOf(agent.nodeId))?.price_per_vcpu_hour_micros).toBe(15_000);
    expect(await listed(apiKey, agent.nodeId)).toMatchObject({ pricePerVcpuHour: "0.015" });
    await agent.register(hardware([], 16, 65_536), { pricePerGpuHour: "0.00" });
    expect((await rowOf(agent.nodeId))?.price_per_vcpu_hour_micros).toBeNull();
    expect(await listed(apiKey, agent.nodeId)).toMatchObject({
      pricePerVcpuHour: TABLE_RATE,
      cpuPriceSource: "table",
    });
  });

  it("refuses a re-registration at a bad price and keeps the stored one", async () => {
    const { apiKey } = await signup();
    const agent = await cpuNode({ pricePerVcpuHour: "0.011" });
    const before = await rowOf(agent.nodeId);
    const listing = await listed(apiKey, agent.nodeId);
    // Negative, over-precise (seven decimals), over the $1 maximum, not a price.
    for (const pricePerVcpuHour of ["-0.01", "0.0000001", "1.000001", "cheap"]) {
      const res = await agent.send("/v1/agent/register", {
        hardware: hardware([], 16, 65_536),
        pricePerGpuHour: "0.00",
        pricePerVcpuHour,
        agentVersion: "test",
        runtime: "docker",
        region: "eu-west",
      });
      await expectError(res, 400, "invalid_request");
    }
    expect(await rowOf(agent.nodeId)).toEqual(before);
    expect(before?.price_per_vcpu_hour_micros).toBe(11_000);
    expect(await listed(apiKey, agent.nodeId)).toEqual(listing);
  });
});
