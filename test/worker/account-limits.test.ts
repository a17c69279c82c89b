import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { holdForJob } from "../../src/ledger/hold.js";
import type { AccountEventsPage, AccountLimitsView } from "../../src/shared/ledger-api.js";
import { fakeId, ledgerDb } from "./ledger-support.js";
import {
  authed,
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
  name: "limited",
  image: "meridian/busybox:test",
  command: ["true"],
  region: "eu-west",
  resources: { gpus: 1 },
  maxPricePerGpuHour: "2.00",
  timeoutSeconds: 3600,
};

function putLimits(apiKey: string, body: unknown): Promise<Response> {
  return call("/v1/account/limits", jsonInit("PUT", body, apiKey));
}

async function limits(apiKey: string): Promise<AccountLimitsView> {
  return (await (await call("/v1/account/limits", authed(apiKey))).json()) as AccountLimitsView;
}

async function events(apiKey: string, query = ""): Promise<AccountEventsPage> {
  return (await (await call(`/v1/account/events${query}`, authed(apiKey))).json()) as AccountEventsPage;
}

async function submitted(apiKey: string, body: unknown): Promise<string> {
  const res = await submit(apiKey, body);
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

async function heldMicros(apiKey: string): Promise<number> {
  return ((await (await call("/v1/balance", authed(apiKey))).json()) as { heldMicros: number }).heldMicros;
}

describe("account limits", () => {
  afterEach(drainAgents);

  it("sets, reads and removes limits in µUSD, and refuses bad ones with 400, nothing stored", async () => {
    const { id, apiKey } = await signup();
    expect(await limits(apiKey)).toMatchObject({
      accountId: id,
      monthlyCap: null,
      maxSpendPerHour: null,
      spentThisMonthMicros: 0,
      heldMicros: 0,
    });
    const set = await putLimits(apiKey, { monthlyCap: "100.50", maxSpendPerHour: 8 });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({
      monthlyCap: "100.50",
      monthlyCapMicros: 100_500_000,
      maxSpendPerHourMicros: 8_000_000,
    });
    expect(
      (await (await putLimits(apiKey, { maxSpendPerHour: null })).json()) as AccountLimitsView,
    ).toMatchObject({
      monthlyCapMicros: 100_500_000,
      maxSpendPerHourMicros: null,
    });
    for (const body of [
      {},
      { monthlyCap: "-1" },
      { monthlyCap: -1 },
      { monthlyCap: "0" },
      { monthlyCap: "1.0000001" },
      { monthlyCap: 0.5e-7 },
      { monthlyCap: "ten" },
      { monthlyCap: "1", dailyCap: "1" },
      [],
    ]) {
      await expectError(await putLimits(apiKey, body), 400, "invalid_request");
    }
    expect(await limits(apiKey)).toMatchObject({
      monthlyCapMicros: 100_500_000,
      maxSpendPerHourMicros: null,
    });
    await expectError(await call("/v1/account/limits"), 401, "unauthorized");
    await expectError(await call("/v1/account/events"), 401, "unauthorized");
    await expectError(await call("/v1/account/events?cursor=x", authed(apiKey)), 400, "invalid_request");
  });

  it("refuses a submit past the monthly cap with 403 and details, warns once at 80%, and admits again once holds go back", async () => {
    const { id, apiKey } = await signup();
    await putLimits(apiKey, { monthlyCap: "3.00" });
    const first = await submitted(apiKey, spec);
    expect((await events(apiKey)).events).toEqual([]);

    const refused = await submit(apiKey, spec);
    expect(refused.status).toBe(403);
    const body = (await refused.json()) as { error: { code: string; details: Record<string, unknown> } };
    expect(body.error.code).toBe("monthly_cap_reached");
    expect(body.error.details).toMatchObject({
      monthlyCapMicros: 3_000_000,
      heldMicros: 2_000_000,
      spentThisMonthMicros: 0,
      neededMicros: 2_000_000,
      remainingMicros: 1_000_000,
    });
    expect(await heldMicros(apiKey)).toBe(2_000_000);

    // 2.50 of 3.00 held: past 80%, one warning; a second job in the month adds none.
    const second = await submitted(apiKey, { ...spec, budget: { maxTotalUsd: "0.50" } });
    const third = await submitted(apiKey, { ...spec, budget: { maxTotalUsd: "0.25" } });
    const warned = (await events(apiKey)).events;
    expect(warned).toEqual([
      expect.objectContaining({
        kind: "monthly_cap_warning",
        period: new Date().toISOString().slice(0, 7),
        details: expect.objectContaining({
          capMicros: 3_000_000,
          heldMicros: 2_500_000,
          thresholdPercent: 80,
        }),
      }),
    ]);
    for (const job of [first, second, third]) await call(`/v1/jobs/${job}/cancel`, authed(apiKey, "POST"));
    expect(await heldMicros(apiKey)).toBe(0);
    const again = await submitted(apiKey, spec);
    await call(`/v1/jobs/${again}/cancel`, authed(apiKey, "POST"));
    expect((await events(apiKey)).events).toHaveLength(1);
    // Lowering the cap under what is committed warns at once (but the month's warning exists already).
    await putLimits(apiKey, { monthlyCap: "0.01" });
    expect((await events(apiKey)).events).toHaveLength(1);
    const row = await env.DB.prepare("SELECT count(*) AS n FROM account_events WHERE account_id = ?")
      .bind(id)
      .first<{ n: number }>();
    expect(row?.n).toBe(1);
  });

  it("counts this month's charges against the cap", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([H100]), { pricePerGpuHour: "3600.00" });
    const id = await submitted(apiKey, {
      ...spec,
      maxPricePerGpuHour: "3600.00",
      budget: { maxTotalUsd: "1.00" },
    });
    const [a] = (await agent.poll()).assignments;
    if (!a || a.jobId !== id) throw new Error("no assignment");
    const at = Date.now();
    await agent.report(a.attemptId, { type: "started", fencing: a.fencing, at, containerId: "c" });
    await agent.report(a.attemptId, {
      type: "exited",
      fencing: a.fencing,
      at,
      exitCode: 0,
      reason: "completed",
    });
    const after = await limits(apiKey);
    // At 3600.00 per GPU-hour a second costs 1.00: the whole budget.
    expect(after).toMatchObject({ spentThisMonthMicros: 1_000_000, heldMicros: 0 });
    await putLimits(apiKey, { monthlyCap: "2.00" });
    await expectError(
      await submit(apiKey, { ...spec, budget: { maxTotalUsd: "1.01" } }),
      403,
      "monthly_cap_reached",
    );
    const fits = await submitted(apiKey, { ...spec, budget: { maxTotalUsd: "1.00" } });
    await call(`/v1/jobs/${fits}/cancel`, authed(apiKey, "POST"));
  });

  it("refuses a submit past the max concurrent spend per hour with 403 spend_rate_limit", async () => {
    const { apiKey } = await signup();
    await putLimits(apiKey, { maxSpendPerHour: "3.00" });
    const first = await submitted(apiKey, { ...spec, budget: { maxTotalUsd: "0.10" } });
    const refused = await submit(apiKey, { ...spec, budget: { maxTotalUsd: "0.10" } });
    expect(refused.status).toBe(403);
    const body = (await refused.json()) as { error: { code: string; details: Record<string, unknown> } };
    expect(body.error).toMatchObject({
      code: "spend_rate_limit",
      details: {
        maxSpendPerHourMicros: 3_000_000,
        activeSpendPerHourMicros: 2_000_000,
        jobSpendPerHourMicros: 2_000_000,
      },
    });
    const cheap = await submitted(apiKey, {
      ...spec,
      maxPricePerGpuHour: "1.00",
      budget: { maxTotalUsd: "0.10" },
    });
    expect(await limits(apiKey)).toMatchObject({ activeSpendPerHourMicros: 3_000_000 });
    await call(`/v1/jobs/${first}/cancel`, authed(apiKey, "POST"));
    const next = await submitted(apiKey, { ...spec, budget: { maxTotalUsd: "0.10" } });
    for (const job of [cheap, next]) await call(`/v1/jobs/${job}/cancel`, authed(apiKey, "POST"));
  });

  it("counts CPU-only jobs at their vCPU-hour cap and memory, at submit and in the guard trigger", async () => {
    const { id, apiKey } = await signup();
    await putLimits(apiKey, { maxSpendPerHour: "0.30" });
    // 4 vCPUs at the job's 0.05 cap and 8 GiB at the table's 1,271 µUSD: 210,168 µUSD an hour.
    const cpu = {
      ...spec,
      resources: { gpus: 0, cpus: 4, memoryGb: 8 },
      maxPricePerGpuHour: undefined,
      maxPricePerVcpuHour: "0.05",
      budget: { maxTotalUsd: "0.10" },
    };
    const first = await submitted(apiKey, cpu);
    expect(await limits(apiKey)).toMatchObject({ activeSpendPerHourMicros: 210_168 });
    const refused = await submit(apiKey, cpu);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: unknown }).error).toMatchObject({
      code: "spend_rate_limit",
      details: { activeSpendPerHourMicros: 210_168, jobSpendPerHourMicros: 210_168 },
    });
    // The trigger counts the same rate, rounded as the hold is: 89,832 µUSD more fits the 0.30
    // exactly (1 vCPU at 89,196 + 0.5 GiB at 635.5 = 89,831.5, up to 89,832); a µUSD more does not.
    const insert = (vcpuCap: number) =>
      env.DB.prepare(
        "INSERT INTO jobs (id, account_id, name, region, image, spec, status, created_at, updated_at) VALUES (?, ?, 'x', 'eu-west', 'x', ?, 'queued', 0, 0)",
      )
        .bind(
          fakeId("job"),
          id,
          JSON.stringify({ maxPricePerVcpuHour: vcpuCap, resources: { gpus: 0, cpus: 1, memoryGb: 0.5 } }),
        )
        .run();
    await expect(insert(89_197)).rejects.toThrow(/account_spend_rate_limit/);
    await insert(89_196);
    expect(await limits(apiKey)).toMatchObject({ activeSpendPerHourMicros: 300_000 });
    await env.DB.prepare("UPDATE jobs SET status = 'cancelled' WHERE account_id = ? AND name = 'x'")
      .bind(id)
      .run();
    await call(`/v1/jobs/${first}/cancel`, authed(apiKey, "POST"));
    expect(await limits(apiKey)).toMatchObject({ activeSpendPerHourMicros: 0 });
  });

  it("guards the limits inside the batch: racing submits never pass them together", async () => {
    const { id, apiKey } = await signup();
    await putLimits(apiKey, { monthlyCap: "3.00" });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => submit(apiKey, { ...spec, budget: { maxTotalUsd: "1.00" } })),
    );
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(3);
    expect(statuses.filter((s) => s !== 201).every((s) => s === 403)).toBe(true);
    expect(await heldMicros(apiKey)).toBe(3_000_000);
    // A hold that skips the pre-check is still refused by the trigger, and moves nothing.
    await expect(
      holdForJob(ledgerDb(), { accountId: id, jobId: fakeId("job"), amountMicros: 1 }),
    ).rejects.toThrow(/account_monthly_cap_reached/);
    await putLimits(apiKey, { monthlyCap: null, maxSpendPerHour: "1.00" });
    await expect(
      env.DB.prepare(
        "INSERT INTO jobs (id, account_id, name, region, image, spec, status, created_at, updated_at) VALUES (?, ?, 'x', 'eu-west', 'x', ?, 'queued', 0, 0)",
      )
        .bind(fakeId("job"), id, JSON.stringify({ maxPricePerGpuHour: 2_000_000, resources: { gpus: 1 } }))
        .run(),
    ).rejects.toThrow(/account_spend_rate_limit/);
    expect(await heldMicros(apiKey)).toBe(3_000_000);
    const jobs = await env.DB.prepare("SELECT id FROM jobs WHERE account_id = ? AND status = 'queued'")
      .bind(id)
      .all<{ id: string }>();
    for (const job of jobs.results) await call(`/v1/jobs/${job.id}/cancel`, authed(apiKey, "POST"));
  });

  it("keeps account events append-only", async () => {
    const { id, apiKey } = await signup();
    await submitted(apiKey, { ...spec, budget: { maxTotalUsd: "1.00" } });
    await putLimits(apiKey, { monthlyCap: "1.10" });
    expect((await events(apiKey)).events).toHaveLength(1);
    await expect(
      env.DB.prepare("UPDATE account_events SET kind = 'x' WHERE account_id = ?").bind(id).run(),
    ).rejects.toThrow(/append_only/);
    await expect(
      env.DB.prepare("DELETE FROM account_events WHERE account_id = ?").bind(id).run(),
    ).rejects.toThrow(/append_only/);
    const page = await events(apiKey, "?limit=1");
    expect(page.nextCursor).toBeNull();
  });
});
