import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { CPU_PRICES, CPU_REFERENCE, cpuHourMicros } from "../../src/shared/cpu-pricing.js";
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

/** 4 vCPUs and 8 GiB: 4 × 9,483 + 8 × 1,271 = 48,100 µUSD an hour at the table's rates. */
const RESOURCES = { gpus: 0, cpus: 4, memoryGb: 8 };
const RATE = 48_100;
const cpuSpec = {
  name: "cpu-work",
  image: "meridian/busybox:test",
  command: ["true"],
  region: "eu-west",
  resources: RESOURCES,
  timeoutSeconds: 3600,
};

interface SettlementRow {
  outcome: string;
  billable_seconds: number;
  metered_micros: number;
  charged_micros: number;
  fee_micros: number;
  provider_micros: number;
  cpu_hour_micros: number;
  gpus: number;
}

async function settlementOf(jobId: string): Promise<SettlementRow> {
  const row = await env.DB.prepare("SELECT * FROM ledger_settlements WHERE job_id = ?")
    .bind(jobId)
    .first<SettlementRow>();
  if (!row) throw new Error(`no settlement for ${jobId}`);
  return row;
}

/** A CPU-only provider node (no GPU) owned by a fresh account. */
async function cpuProvider(): Promise<{ agent: TestAgent; apiKey: string }> {
  const owner = await signup();
  const agent = new TestAgent();
  agent.ownerApiKey = owner.apiKey;
  await agent.register(hardware([], 16, 65_536), { pricePerGpuHour: "0.00" });
  return { agent, apiKey: owner.apiKey };
}

async function runToEnd(agent: TestAgent): Promise<{ attemptId: string; timeoutSeconds: number }> {
  const [a] = (await agent.poll()).assignments;
  if (!a) throw new Error("no assignment");
  expect((await agent.start(a)).status).toBe(200);
  expect((await agent.exit(a)).status).toBe(200);
  return { attemptId: a.attemptId, timeoutSeconds: a.timeoutSeconds };
}

describe("CPU-only work is priced per vCPU-hour and GiB-hour", () => {
  afterEach(drainAgents);

  it("anchors the table at 30% of a hyperscaler's N2 rates, and rounds fractions up", () => {
    expect(CPU_REFERENCE).toEqual({ vcpuHourMicros: 31_611, gbHourMicros: 4_237 });
    expect(CPU_PRICES).toEqual({ vcpuHourMicros: 9_483, gbHourMicros: 1_271 });
    expect(cpuHourMicros(RESOURCES)).toBe(RATE);
    // The default job (1 vCPU, 1 GiB), a tenth of a vCPU with 1/16 GiB, and GPU work.
    expect(cpuHourMicros({ gpus: 0, cpus: 1, memoryGb: 1 })).toBe(10_754);
    expect(cpuHourMicros({ gpus: 0, cpus: 0.1, memoryGb: 0.0625 })).toBe(Math.ceil(948.3 + 79.4375));
    expect(cpuHourMicros({ gpus: 1, cpus: 64, memoryGb: 512 })).toBe(0);
  });

  it("serves the table behind an API key", async () => {
    const { apiKey } = await signup();
    expect((await call("/v1/pricing/cpu")).status).toBe(401);
    const res = await call("/v1/pricing/cpu", authed(apiKey));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      currency: "USD",
      perVcpuHour: "0.009483",
      perVcpuHourMicros: 9_483,
      perGbHour: "0.001271",
      perGbHourMicros: 1_271,
      reference: { perVcpuHour: "0.031611", perGbHour: "0.004237" },
      marketLevel: 0.3,
    });
  });

  it("estimates and quotes a CPU job at the table's rate, and a GPU job without it", async () => {
    const { apiKey } = await signup();
    await cpuProvider();
    const estimate = (await (await call("/v1/estimates", jsonInit("POST", cpuSpec, apiKey))).json()) as {
      offers: number;
      perHour: { minMicros: number; maxMicros: number };
      maxTotal: { maxMicros: number };
      minimumChargeMicros: number;
      cpu: { perNodeHourMicros: number; perVcpuHour: string; nodes: number } | null;
    };
    expect(estimate.offers).toBeGreaterThanOrEqual(1);
    expect(estimate.perHour).toMatchObject({ minMicros: RATE, maxMicros: RATE });
    expect(estimate.maxTotal.maxMicros).toBe(RATE);
    expect(estimate.minimumChargeMicros).toBe(Math.ceil(RATE / 3600));
    expect(estimate.cpu).toMatchObject({ perNodeHourMicros: RATE, perVcpuHour: "0.009483", nodes: 1 });

    const gpuEstimate = (await (
      await call(
        "/v1/estimates",
        jsonInit("POST", { ...cpuSpec, resources: { gpus: 1 }, maxPricePerGpuHour: "2.00" }, apiKey),
      )
    ).json()) as { cpu: unknown };
    expect(gpuEstimate.cpu).toBeNull();

    const quote = (await (await call("/v1/quotes", jsonInit("POST", cpuSpec, apiKey))).json()) as {
      placeable: boolean;
      perHour: string | null;
    };
    expect(quote).toMatchObject({ placeable: true, perHour: "0.0481" });
  });

  it("holds a run at the rate, charges its seconds, and pays the provider its share", async () => {
    const { apiKey } = await signup();
    const provider = await cpuProvider();
    const created = (await (await submit(apiKey, cpuSpec)).json()) as {
      id: string;
      cost: { heldMicros: number };
    };
    expect(created.cost.heldMicros).toBe(RATE);
    expect(await balance(apiKey)).toMatchObject({ availableMicros: 5_000_000 - RATE, heldMicros: RATE });

    await runToEnd(provider.agent);
    expect((await jobOf(apiKey, created.id)).status).toBe("succeeded");
    const row = await settlementOf(created.id);
    expect(row.gpus).toBe(0);
    expect(row.cpu_hour_micros).toBe(RATE);
    expect(row.billable_seconds).toBeGreaterThanOrEqual(1);
    expect(row.charged_micros).toBe(Math.ceil((row.billable_seconds * RATE) / 3600));
    expect(row.charged_micros).toBeGreaterThan(0);
    expect(row.provider_micros + row.fee_micros).toBe(row.charged_micros);
    expect(row.provider_micros).toBeGreaterThan(0);
    expect(await balance(apiKey)).toMatchObject({
      availableMicros: 5_000_000 - row.charged_micros,
      heldMicros: 0,
    });
    const earnings = (await (await call("/v1/provider/earnings", authed(provider.apiKey))).json()) as {
      nodes: { nodeId: string; pendingMicros: number }[];
    };
    expect(earnings.nodes).toEqual([
      expect.objectContaining({ nodeId: provider.agent.nodeId, pendingMicros: row.provider_micros }),
    ]);
  });

  it("bills a started hour whole under hourly billing, for each node of a gang", async () => {
    const { apiKey } = await signup();
    const first = await cpuProvider();
    const second = await cpuProvider();
    const created = (await (
      await submit(apiKey, { ...cpuSpec, nodes: 2, billing: { mode: "hourly" } })
    ).json()) as { id: string; cost: { heldMicros: number } };
    expect(created.cost.heldMicros).toBe(2 * RATE);
    await runToEnd(first.agent);
    await runToEnd(second.agent);
    expect((await jobOf(apiKey, created.id)).status).toBe("succeeded");
    const rows = await env.DB.prepare(
      "SELECT charged_micros, cpu_hour_micros FROM ledger_settlements WHERE job_id = ?",
    )
      .bind(created.id)
      .all<{ charged_micros: number; cpu_hour_micros: number }>();
    expect(rows.results).toEqual([
      { charged_micros: RATE, cpu_hour_micros: RATE },
      { charged_micros: RATE, cpu_hour_micros: RATE },
    ]);
    expect(await balance(apiKey)).toMatchObject({ availableMicros: 5_000_000 - 2 * RATE, heldMicros: 0 });
  });

  it("stops a CPU job when its budget is spent, and refuses a budget below one second", async () => {
    const { apiKey } = await signup();
    const provider = await cpuProvider();
    // 140 µUSD buys ⌊140 × 3600 / 48,100⌋ = 10 seconds.
    const created = (await (
      await submit(apiKey, { ...cpuSpec, budget: { maxTotalUsd: "0.00014" } })
    ).json()) as { id: string; cost: { heldMicros: number } };
    expect(created.cost.heldMicros).toBe(140);
    const run = await runToEnd(provider.agent);
    expect(run.timeoutSeconds).toBe(10);

    const before = await balance(apiKey);
    await expectError(
      await submit(apiKey, { ...cpuSpec, budget: { maxTotalUsd: "0.00001" } }),
      400,
      "budget_below_minimum",
    );
    expect(await balance(apiKey)).toEqual(before);
  });
});
