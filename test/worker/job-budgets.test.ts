import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { holdPlan } from "../../src/ledger/hold-plan.js";
import { meter } from "../../src/ledger/meter.js";
import { type RunLimitInput, runLimitSeconds } from "../../src/ledger/run-limit.js";
import type { BillingMode } from "../../src/shared/billing.js";
import type { EstimateView } from "../../src/shared/ledger-api.js";
import {
  authed,
  balance,
  call,
  drainAgents,
  expectError,
  H100,
  hardware,
  jsonInit,
  signup,
  submit,
  TestAgent,
} from "./support.js";

const spec = {
  name: "budgeted",
  image: "meridian/busybox:test",
  command: ["true"],
  region: "eu-west",
  resources: { gpus: 1 },
  maxPricePerGpuHour: "2.00",
  timeoutSeconds: 3600,
};

async function ledgerRows(): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT (SELECT count(*) FROM ledger_transfers) + (SELECT count(*) FROM jobs) AS n",
  ).first<{ n: number }>();
  return row?.n ?? 0;
}

/** Submits and answers what the job holds. */
async function heldFor(apiKey: string, body: unknown): Promise<number> {
  const res = await submit(apiKey, body);
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  const job = (await res.json()) as { id: string; cost: { heldMicros: number } };
  await call(`/v1/jobs/${job.id}/cancel`, authed(apiKey, "POST"));
  return job.cost.heldMicros;
}

describe("billing modes and budgets at submit", () => {
  afterEach(drainAgents);

  it("holds the most the job can cost under its billing mode, to min(timeout, maxHours), capped by maxTotalUsd", async () => {
    const { apiKey } = await signup();
    expect(await heldFor(apiKey, spec)).toBe(2_000_000);
    expect(await heldFor(apiKey, { ...spec, budget: { maxHours: 0.5 } })).toBe(1_000_000);
    expect(await heldFor(apiKey, { ...spec, budget: { maxTotalUsd: "0.25" } })).toBe(250_000);
    expect(await heldFor(apiKey, { ...spec, budget: { maxTotalUsd: "1.50", maxHours: 0.25 } })).toBe(500_000);
    // Hourly: every started hour; 90 minutes hold two hours.
    expect(
      await heldFor(apiKey, {
        ...spec,
        maxPricePerGpuHour: "1.00",
        timeoutSeconds: 5400,
        billing: { mode: "hourly" },
      }),
    ).toBe(2_000_000);
    // Daily: a started day is 24 hours at the cap.
    expect(await heldFor(apiKey, { ...spec, maxPricePerGpuHour: "0.10", billing: { mode: "daily" } })).toBe(
      2_400_000,
    );
    // Per task: the accepted fixed price, whatever the node's rate.
    expect(await heldFor(apiKey, { ...spec, billing: { mode: "per_task", fixedPrice: "1.25" } })).toBe(
      1_250_000,
    );
    expect(await balance(apiKey)).toMatchObject({ availableMicros: 5_000_000, heldMicros: 0 });
  });

  it("keeps the job's billing and budget in its spec, where the Region object reads them", async () => {
    const { apiKey } = await signup();
    const res = await submit(apiKey, {
      ...spec,
      billing: { mode: "per_task", fixedPrice: "1.25" },
      budget: { maxHours: 2 },
    });
    const { id } = (await res.json()) as { id: string };
    const row = await env.DB.prepare("SELECT spec FROM jobs WHERE id = ?").bind(id).first<{ spec: string }>();
    expect(JSON.parse(row?.spec ?? "{}")).toMatchObject({
      billing: { mode: "per_task", fixedPrice: 1_250_000 },
      budget: { maxHours: 2 },
    });
    await call(`/v1/jobs/${id}/cancel`, authed(apiKey, "POST"));
  });

  it("refuses a budget below the minimum billable unit with 400 budget_below_minimum, nothing moved", async () => {
    const { apiKey } = await signup();
    const before = await ledgerRows();
    for (const body of [
      // One second of one GPU at 36.00/h is 0.01.
      { ...spec, maxPricePerGpuHour: "36.00", budget: { maxTotalUsd: "0.009999" } },
      { ...spec, budget: { maxHours: 0.0001 } },
      { ...spec, billing: { mode: "hourly" }, budget: { maxTotalUsd: "1.99" } },
      { ...spec, billing: { mode: "per_task", fixedPrice: "1.00" }, budget: { maxTotalUsd: "0.99" } },
      { ...spec, resources: { gpus: 0 }, maxPricePerGpuHour: undefined, budget: { maxTotalUsd: "0" } },
    ]) {
      await expectError(await submit(apiKey, body), 400, "budget_below_minimum");
    }
    expect(await ledgerRows()).toBe(before);
    expect(await balance(apiKey)).toMatchObject({ availableMicros: 5_000_000, heldMicros: 0 });
  });

  it("refuses malformed billing and budgets, negative or fractional money, with 400, nothing moved", async () => {
    const { apiKey } = await signup();
    const before = await ledgerRows();
    for (const body of [
      { ...spec, budget: {} },
      { ...spec, budget: { maxTotalUsd: "-1" } },
      { ...spec, budget: { maxTotalUsd: -1 } },
      { ...spec, budget: { maxTotalUsd: "1.0000001" } },
      { ...spec, budget: { maxTotalUsd: "1e3" } },
      { ...spec, budget: { maxHours: -1 } },
      { ...spec, budget: { maxHours: 0 } },
      { ...spec, budget: { maxHours: "2" } },
      { ...spec, budget: { maxUsd: "2" } },
      { ...spec, billing: { mode: "per_task" } },
      { ...spec, billing: { mode: "per_task", fixedPrice: "0" } },
      { ...spec, billing: { mode: "per_second", fixedPrice: "1.00" } },
      { ...spec, billing: { mode: "weekly" } },
      { ...spec, maxPricePerGpuHour: "0.5.0" },
    ]) {
      await expectError(await submit(apiKey, body), 400, "invalid_request");
    }
    expect(await ledgerRows()).toBe(before);
  });

  it("refuses with 402 a budget the balance cannot cover, and admits it once it fits", async () => {
    const { apiKey } = await signup();
    await expectError(await submit(apiKey, { ...spec, timeoutSeconds: 36_000 }), 402, "insufficient_funds");
    expect(await heldFor(apiKey, { ...spec, timeoutSeconds: 36_000, budget: { maxTotalUsd: "4.00" } })).toBe(
      4_000_000,
    );
  });
});

describe("estimates with billing and budgets", () => {
  afterEach(drainAgents);

  it("caps the range by the budget, bills by the mode, and refuses a budget below one unit", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([H100]));
    const estimate = async (body: unknown): Promise<EstimateView> => {
      const res = await call("/v1/estimates", jsonInit("POST", body, apiKey));
      if (res.status !== 200) throw new Error(`estimate answered ${res.status}: ${await res.text()}`);
      return res.json();
    };
    const base = { ...spec, maxPricePerGpuHour: undefined };
    expect(await estimate(base)).toMatchObject({ maxTotal: { maxMicros: 2_000_000 }, budgetCapped: false });
    expect(await estimate({ ...base, budget: { maxTotalUsd: "0.50" } })).toMatchObject({
      maxTotal: { minMicros: 500_000, maxMicros: 500_000 },
      budgetCapped: true,
      maxRunSeconds: 3600,
    });
    expect(await estimate({ ...base, budget: { maxHours: 0.25 } })).toMatchObject({
      maxTotal: { maxMicros: 500_000 },
      maxRunSeconds: 900,
    });
    expect(await estimate({ ...base, timeoutSeconds: 5400, billing: { mode: "hourly" } })).toMatchObject({
      billingMode: "hourly",
      maxTotal: { maxMicros: 4_000_000 },
      minimumChargeMicros: 2_000_000,
    });
    expect(await estimate({ ...base, billing: { mode: "per_task", fixedPrice: "0.75" } })).toMatchObject({
      billingMode: "per_task",
      maxTotal: { maxMicros: 750_000 },
      minimumChargeMicros: 750_000,
    });
    await expectError(
      await call("/v1/estimates", jsonInit("POST", { ...base, budget: { maxTotalUsd: "0.0001" } }, apiKey)),
      400,
      "budget_below_minimum",
    );
  });
});

describe("run limit (pure)", () => {
  const base: RunLimitInput = {
    holdMicros: 1_000_000,
    spentMicros: 0,
    pricePerGpuHourMicros: 2_000_000,
    gpus: 1,
    timeoutSeconds: 3600,
  };

  it("stops an attempt when its budget is spent, or at its time limit when that comes first", () => {
    expect(runLimitSeconds(base)).toBe(1800);
    expect(runLimitSeconds({ ...base, pricePerGpuHourMicros: 1_000_000 })).toBe(3600);
    expect(runLimitSeconds({ ...base, maxHours: 0.25 })).toBe(900);
    expect(runLimitSeconds({ ...base, spentMicros: 500_000 })).toBe(900);
    expect(runLimitSeconds({ ...base, spentMicros: 1_000_000 })).toBe(0);
    expect(runLimitSeconds({ ...base, spentMicros: 2_000_000 })).toBe(0);
    expect(runLimitSeconds({ ...base, gpus: 0 })).toBe(3600);
    expect(
      runLimitSeconds({
        ...base,
        holdMicros: 2_500_000,
        pricePerGpuHourMicros: 1_000_000,
        timeoutSeconds: 36_000,
        billing: { mode: "hourly" },
      }),
    ).toBe(7200);
    expect(
      runLimitSeconds({
        ...base,
        holdMicros: 24_000_000,
        pricePerGpuHourMicros: 1_000_000,
        timeoutSeconds: 200_000,
        billing: { mode: "daily" },
      }),
    ).toBe(86_400);
    const perTask = { ...base, billing: { mode: "per_task" as const, fixedPrice: 1_000_000 } };
    expect(runLimitSeconds(perTask)).toBe(3600);
    expect(runLimitSeconds({ ...perTask, holdMicros: 999_999 })).toBe(0);
  });

  it("is the exact inverse of the meter: the limit fits the budget, one more unit does not", () => {
    let seed = 7;
    const random = (max: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % max;
    };
    const units: Record<Exclude<BillingMode, "per_task">, number> = {
      per_second: 1,
      hourly: 3600,
      daily: 86_400,
    };
    for (let i = 0; i < 3000; i++) {
      const mode = (["per_second", "hourly", "daily"] as const)[random(3)] ?? "per_second";
      const input: RunLimitInput = {
        holdMicros: 1 + random(500_000_000),
        spentMicros: random(1_000_000),
        pricePerGpuHourMicros: 1 + random(20_000_000),
        gpus: 1 + random(8),
        timeoutSeconds: 7 * 86_400,
        billing: { mode },
      };
      const limit = runLimitSeconds(input);
      const left = Math.max(0, input.holdMicros - input.spentMicros);
      const cost = (seconds: number) =>
        meter({
          startedAt: 0,
          endedAt: seconds * 1000,
          pricePerGpuHourMicros: input.pricePerGpuHourMicros,
          gpus: input.gpus,
          mode,
        }).amountMicros;
      if (limit > 0) expect(cost(limit)).toBeLessThanOrEqual(left);
      if (limit < input.timeoutSeconds) expect(cost(limit + units[mode])).toBeGreaterThan(left);
    }
  });

  it("plans the hold the admission takes", () => {
    const terms = { pricePerGpuHourMicros: 2_000_000, gpus: 2, timeoutSeconds: 3600 };
    expect(holdPlan(terms)).toEqual({
      holdMicros: 4_000_000,
      minimumMicros: 1112,
      runSeconds: 3600,
      budgetCapped: false,
    });
    expect(holdPlan({ ...terms, budget: { maxTotalUsd: 1_000_000 } })).toMatchObject({
      holdMicros: 1_000_000,
      budgetCapped: true,
    });
  });
});
