import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import {
  authed,
  balance,
  call,
  drainAgents,
  expectError,
  hardware,
  jobOf,
  jsonInit,
  signup,
  submit,
  TestAgent,
} from "./support.js";

/**
 * Issue 10: each provider sets its own price per vCPU-hour for CPU-only work, as GPU providers set
 * theirs per GPU-hour; memory stays at the CPU table's 1,271 µUSD per GiB-hour. 4 vCPUs and 8 GiB
 * reserved on one node: 4 × price + 8 × 1,271 an hour.
 */
const RESOURCES = { gpus: 0, cpus: 4, memoryGb: 8 };
const MEMORY_HOUR = 8 * 1_271;
const hourAt = (vcpuMicros: number): number => 4 * vcpuMicros + MEMORY_HOUR;
const cpuSpec = {
  name: "cpu-work",
  image: "meridian/busybox:test",
  command: ["true"],
  region: "eu-west",
  resources: RESOURCES,
  timeoutSeconds: 3600,
};

interface SettlementRow {
  node_id: string;
  billable_seconds: number;
  charged_micros: number;
  fee_micros: number;
  provider_micros: number;
  cpu_hour_micros: number;
}

async function settlementOf(jobId: string): Promise<SettlementRow> {
  const row = await env.DB.prepare("SELECT * FROM ledger_settlements WHERE job_id = ?")
    .bind(jobId)
    .first<SettlementRow>();
  if (!row) throw new Error(`no settlement for ${jobId}`);
  return row;
}

/** A CPU-only node owned by a fresh account, asking `pricePerVcpuHour` (or the table's, when absent). */
async function cpuProvider(pricePerVcpuHour?: string): Promise<{ agent: TestAgent; apiKey: string }> {
  const owner = await signup();
  const agent = new TestAgent();
  agent.ownerApiKey = owner.apiKey;
  await agent.register(hardware([], 16, 65_536), {
    pricePerGpuHour: "0.00",
    ...(pricePerVcpuHour === undefined ? {} : { pricePerVcpuHour }),
  });
  return { agent, apiKey: owner.apiKey };
}

async function listed(apiKey: string, nodeId: string): Promise<{ pricePerVcpuHour?: string } | undefined> {
  const body = (await (await call("/v1/nodes", authed(apiKey))).json()) as {
    nodes: { id: string; pricePerVcpuHour?: string }[];
  };
  return body.nodes.find((node) => node.id === nodeId);
}

async function runToEnd(agent: TestAgent): Promise<string> {
  const [a] = (await agent.poll()).assignments;
  if (!a) throw new Error("no assignment");
  expect((await agent.start(a)).status).toBe(200);
  expect((await agent.exit(a)).status).toBe(200);
  return a.attemptId;
}

interface Quote {
  placeable: boolean;
  nodes: { nodeId: string; pricePerVcpuHour: string | null }[];
  pricePerVcpuHour: { min: string; max: string } | null;
  perHour: string | null;
  explanation: { binding: string | null; relaxations: { field: string; value?: string }[] };
}

async function quote(apiKey: string, spec: unknown): Promise<Quote> {
  const res = await call("/v1/quotes", jsonInit("POST", spec, apiKey));
  expect(res.status).toBe(200);
  return (await res.json()) as Quote;
}

/** Every row a refused registration or submit could touch. */
async function storedTotals(): Promise<unknown> {
  const count = async (table: string) =>
    (await env.DB.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())?.n;
  return {
    nodes: await count("nodes"),
    jobs: await count("jobs"),
    settlements: await count("ledger_settlements"),
    transfers: await count("ledger_transfers"),
  };
}

describe("providers price their own CPU-only work per vCPU-hour", () => {
  afterEach(drainAgents);

  it("lists each node's price, holds at the dearest offer, and charges exactly the placed node's", async () => {
    const { apiKey } = await signup();
    const dear = await cpuProvider("0.02");
    expect(await listed(apiKey, dear.agent.nodeId)).toMatchObject({ pricePerVcpuHour: "0.02" });

    // Quoted and estimated at the node's price, not the table's.
    const q = await quote(apiKey, cpuSpec);
    expect(q).toMatchObject({
      placeable: true,
      nodes: [{ nodeId: dear.agent.nodeId, pricePerVcpuHour: "0.02" }],
      pricePerVcpuHour: { min: "0.02", max: "0.02" },
      perHour: "0.090168",
    });
    const estimate = (await (await call("/v1/estimates", jsonInit("POST", cpuSpec, apiKey))).json()) as {
      perHour: { minMicros: number; maxMicros: number };
      cpu: { perVcpuHourMicros: number; perNodeHourMicros: number };
    };
    expect(estimate.perHour).toMatchObject({ minMicros: hourAt(20_000), maxMicros: hourAt(20_000) });
    expect(estimate.cpu).toMatchObject({ perVcpuHourMicros: 20_000, perNodeHourMicros: 90_168 });

    // Held for the run at that price; charged for its seconds at it; the provider paid its share.
    const created = (await (await submit(apiKey, cpuSpec)).json()) as {
      id: string;
      spec: { maxPricePerVcpuHour?: string };
      cost: { heldMicros: number };
    };
    expect(created.cost.heldMicros).toBe(hourAt(20_000));
    expect(created.spec.maxPricePerVcpuHour).toBe("0.02");
    await runToEnd(dear.agent);
    expect((await jobOf(apiKey, created.id)).status).toBe("succeeded");
    const row = await settlementOf(created.id);
    expect(row.node_id).toBe(dear.agent.nodeId);
    expect(row.cpu_hour_micros).toBe(hourAt(20_000));
    expect(row.billable_seconds).toBeGreaterThanOrEqual(1);
    expect(row.charged_micros).toBe(Math.ceil((row.billable_seconds * hourAt(20_000)) / 3600));
    expect(row.provider_micros + row.fee_micros).toBe(row.charged_micros);
    expect(await balance(apiKey)).toMatchObject({
      availableMicros: 5_000_000 - row.charged_micros,
      heldMicros: 0,
    });
    const earnings = (await (await call("/v1/provider/earnings", authed(dear.apiKey))).json()) as {
      nodes: { nodeId: string; pendingMicros: number }[];
    };
    expect(earnings.nodes).toEqual([
      expect.objectContaining({ nodeId: dear.agent.nodeId, pendingMicros: row.provider_micros }),
    ]);
  });

  it("places under the job's cap on the node that meets it, and explains a cap no node meets", async () => {
    const { apiKey } = await signup();
    const dear = await cpuProvider("0.02");
    const table = await cpuProvider();
    expect(await listed(apiKey, table.agent.nodeId)).toMatchObject({ pricePerVcpuHour: "0.009483" });

    const both = await quote(apiKey, cpuSpec);
    expect(both.pricePerVcpuHour).toEqual({ min: "0.009483", max: "0.02" });
    // The cheapest strategy ranks by the vCPU price for CPU-only work.
    const cheapest = await quote(apiKey, { ...cpuSpec, strategy: "cheapest" });
    expect(cheapest.nodes).toEqual([expect.objectContaining({ nodeId: table.agent.nodeId })]);

    const tooLow = await quote(apiKey, { ...cpuSpec, maxPricePerVcpuHour: "0.005" });
    expect(tooLow.placeable).toBe(false);
    expect(tooLow.explanation.binding).toBe("cpuPrice");
    expect(tooLow.explanation.relaxations[0]).toMatchObject({
      field: "maxPricePerVcpuHour",
      value: "0.009483",
    });

    // Capped at 0.01: held at the cap, placed on the table-priced node, charged at its 0.009483.
    const created = (await (await submit(apiKey, { ...cpuSpec, maxPricePerVcpuHour: "0.01" })).json()) as {
      id: string;
      cost: { heldMicros: number };
    };
    expect(created.cost.heldMicros).toBe(hourAt(10_000));
    expect((await dear.agent.poll()).assignments).toEqual([]);
    await runToEnd(table.agent);
    const row = await settlementOf(created.id);
    expect(row.node_id).toBe(table.agent.nodeId);
    expect(row.cpu_hour_micros).toBe(hourAt(9_483));
    expect(row.charged_micros).toBe(Math.ceil((row.billable_seconds * hourAt(9_483)) / 3600));
  });

  it("keeps a placed attempt at the price it was placed at when the provider changes it", async () => {
    const { apiKey } = await signup();
    const provider = await cpuProvider("0.015");
    const created = (await (await submit(apiKey, cpuSpec)).json()) as { id: string };
    const [a] = (await provider.agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    await provider.agent.register(hardware([], 16, 65_536), {
      pricePerGpuHour: "0.00",
      pricePerVcpuHour: "0.03",
    });
    expect(await listed(apiKey, provider.agent.nodeId)).toMatchObject({ pricePerVcpuHour: "0.03" });
    expect((await provider.agent.start(a)).status).toBe(200);
    expect((await provider.agent.exit(a)).status).toBe(200);
    expect((await settlementOf(created.id)).cpu_hour_micros).toBe(hourAt(15_000));
  });

  it("refuses a bad price at registration or in a spec, and stores nothing", async () => {
    const { apiKey } = await signup();
    const before = await storedTotals();
    const nodesBefore = await (await call("/v1/nodes", authed(apiKey))).text();
    for (const pricePerVcpuHour of ["-0.01", "0.0000001", "1.000001", "5", 2, "cheap", "", null, {}]) {
      const agent = new TestAgent();
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
    const wallet = await balance(apiKey);
    for (const maxPricePerVcpuHour of ["-1", "0.0000001", "abc"]) {
      await expectError(await submit(apiKey, { ...cpuSpec, maxPricePerVcpuHour }), 400, "invalid_request");
    }
    expect(await storedTotals()).toEqual(before);
    expect(await (await call("/v1/nodes", authed(apiKey))).text()).toBe(nodesBefore);
    expect(await balance(apiKey)).toEqual(wallet);
  });
});
