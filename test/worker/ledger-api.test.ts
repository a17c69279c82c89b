import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { grantSignupCredit } from "../../src/ledger/credits.js";
import { holdForJob } from "../../src/ledger/hold.js";
import { nodeOwnerStatement } from "../../src/ledger/node-owners.js";
import { recordPayout } from "../../src/ledger/payout.js";
import { settleAttempt } from "../../src/ledger/settlement.js";
import type {
  BalanceView,
  EarningsView,
  EstimateView,
  LedgerPage,
  UsageView,
} from "../../src/shared/ledger-api.js";
import { balances, fakeId, grant, ledgerDb, ledgerSum, operatorToken } from "./ledger-support.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  H100,
  hardware,
  jsonInit,
  signup,
  TestAgent,
} from "./support.js";

const FEES = { platformFeeBps: 1000, burnShareBps: 2000 };
const db = ledgerDb();

async function balanceView(apiKey: string): Promise<BalanceView> {
  const res = await call("/v1/balance", authed(apiKey));
  expect(res.status).toBe(200);
  return res.json();
}

afterEach(drainAgents);

describe("balance and credits", () => {
  it("grants the sign-up credit with the account, once", async () => {
    const { id, apiKey } = await signup();
    expect(await balanceView(apiKey)).toMatchObject({
      accountId: id,
      currency: "USD",
      available: "5.00",
      availableMicros: 5_000_000,
      held: "0.00",
    });
    await grantSignupCredit(db, env, id);
    await grantSignupCredit(db, env, id);
    expect(await balanceView(apiKey)).toMatchObject({ available: "5.00", availableMicros: 5_000_000 });
    expect(await grantSignupCredit(db, { SIGNUP_CREDIT_USD: "0" }, id)).toBeNull();
  });

  it("grants operator credits idempotently: a replay answers the first result, moves nothing", async () => {
    const { id, apiKey } = await signup();
    const body = { accountId: id, amount: "12.5", memo: "pilot" };
    const first = await grant(body, "grant-1");
    expect(first.status).toBe(201);
    const created = (await first.json()) as { transferId: string; amount: string };
    expect(created.amount).toBe("12.50");
    const before = await balances();
    const again = await grant(body, "grant-1");
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(((await again.json()) as { transferId: string }).transferId).toBe(created.transferId);
    expect(await balances()).toEqual(before);
    expect((await balanceView(apiKey)).availableMicros).toBe(5_000_000 + 12_500_000);
    await expectError(await grant({ ...body, amount: "13" }, "grant-1"), 409, "idempotency_key_reused");
    expect(await balances()).toEqual(before);
  });

  it("refuses bad money, unknown accounts, bad keys and non-operators with a 4xx, nothing moved", async () => {
    const { id, apiKey } = await signup();
    const other = await signup();
    const before = await balances();
    for (const amount of ["-1", "0", "0.0000001", "1e3", "abc", -5, 1.5e-7, "1.000.0"]) {
      await expectError(await grant({ accountId: id, amount }), 400, "invalid_request");
    }
    await expectError(await grant({ accountId: id, amount: "1", extra: true }), 400, "invalid_request");
    await expectError(await grant({ accountId: fakeId("acct"), amount: "1" }), 404, "account_not_found");
    await expectError(await grant({ accountId: id, amount: "1" }, "bad key"), 400, "invalid_idempotency_key");
    // A user's API key is not the operator's: no top-up of another account, nor of one's own.
    await expectError(
      await grant({ accountId: other.id, amount: "1" }, undefined, apiKey),
      403,
      "operator_only",
    );
    await expectError(await grant({ accountId: id, amount: "1" }, undefined, apiKey), 403, "operator_only");
    await expectError(
      await call("/v1/credits", jsonInit("POST", { accountId: id, amount: "1" })),
      401,
      "unauthorized",
    );
    expect(await balances()).toEqual(before);
    expect(await ledgerSum()).toBe(0);
  });
});

describe("ledger, usage and earnings", () => {
  it("pages the caller's entries newest first, and only the caller's", async () => {
    const { id, apiKey } = await signup();
    const other = await signup();
    await grant({ accountId: other.id, amount: "1" });
    for (let i = 1; i <= 3; i++) await grant({ accountId: id, amount: String(i) }, `page-${id}-${i}`);
    const job = fakeId("job");
    await holdForJob(db, { accountId: id, jobId: job, amountMicros: 2_000_000 });
    const seen: LedgerPage["entries"] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : "?limit=2";
      const res = await call(`/v1/ledger${query}`, authed(apiKey));
      expect(res.status).toBe(200);
      const page = (await res.json()) as LedgerPage;
      seen.push(...page.entries);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((entry) => entry.kind)).toEqual([
      "hold",
      "credit_grant",
      "credit_grant",
      "credit_grant",
      "signup_credit",
    ]);
    expect(seen[0]).toMatchObject({
      from: `user:${id}`,
      to: `hold:${job}`,
      balanceEffect: "-2.00",
      jobId: job,
    });
    expect(seen.reduce((sum, entry) => sum + entry.balanceEffectMicros, 0)).toBe(9_000_000);
    expect(await balanceView(apiKey)).toMatchObject({ available: "9.00", held: "2.00", total: "11.00" });
    await expectError(await call("/v1/ledger?limit=0", authed(apiKey)), 400, "invalid_request");
    await expectError(await call("/v1/ledger?cursor=x", authed(apiKey)), 400, "invalid_request");
    await expectError(await call("/v1/ledger"), 401, "unauthorized");
  });

  it("reports usage by job, day and GPU model, as JSON and CSV, and refuses bad ranges", async () => {
    const { id, apiKey } = await signup();
    await grant({ accountId: id, amount: "100" });
    const job = fakeId("job");
    await holdForJob(db, { accountId: id, jobId: job, amountMicros: 50_000_000 });
    const day = Date.parse("2026-03-01T10:00:00Z");
    const base = {
      accountId: id,
      jobId: job,
      nodeId: "node_cccccccccccccccccccccccccc",
      pricePerGpuHourMicros: 2_000_000,
      gpus: 1,
    };
    await settleAttempt(
      db,
      {
        ...base,
        attemptId: fakeId("att"),
        outcome: "lost",
        startedAt: day,
        endedAt: day + 600_000,
        gpuModel: "h100",
      },
      FEES,
    );
    await settleAttempt(
      db,
      {
        ...base,
        attemptId: fakeId("att"),
        outcome: "succeeded",
        startedAt: day,
        endedAt: day + 1_800_000,
        gpuModel: "h100",
      },
      FEES,
    );
    const byJob = await call(`/v1/usage?from=2026-03-01&to=2026-03-02&groupBy=job`, authed(apiKey));
    expect(byJob.status).toBe(200);
    expect((await byJob.json()) as UsageView).toMatchObject({
      total: "1.00",
      rows: [{ key: job, attempts: 2, billableSeconds: 1800, charged: "1.00", chargedMicros: 1_000_000 }],
    });
    const byModel = (await (
      await call(`/v1/usage?from=2026-03-01&to=2026-03-02&groupBy=gpuModel`, authed(apiKey))
    ).json()) as UsageView;
    expect(byModel.rows.map((row) => row.key)).toEqual(["h100"]);
    const csv = await call(`/v1/usage?from=2026-02-01&to=2026-03-31T00:00:00Z&format=csv`, authed(apiKey));
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    expect(await csv.text()).toBe(
      "day,attempts,billable_seconds,charged_usd,charged_micros\r\n2026-03-01,2,1800,1.00,1000000\r\n",
    );
    for (const query of [
      "from=2026-03-02&to=2026-03-01",
      "from=2026-03-01&to=2026-03-01",
      "from=2025-01-01&to=2026-03-01",
      "from=yesterday&to=2026-03-01",
      "from=2026-03-01",
      "from=2026-03-01&to=2026-03-02&groupBy=node",
    ]) {
      await expectError(await call(`/v1/usage?${query}`, authed(apiKey)), 400, "invalid_request");
    }
  });

  it("shows a provider its nodes' earnings by day, pending vs settled", async () => {
    const provider = await signup();
    const user = await signup();
    const node = "node_dddddddddddddddddddddddddd";
    await db.batch([nodeOwnerStatement(db, node, provider.id)]);
    await grant({ accountId: user.id, amount: "10" });
    const job = fakeId("job");
    await holdForJob(db, { accountId: user.id, jobId: job, amountMicros: 10_000_000 });
    const at = Date.now() - 3_600_000;
    await settleAttempt(
      db,
      {
        accountId: user.id,
        jobId: job,
        attemptId: fakeId("att"),
        nodeId: node,
        outcome: "succeeded",
        startedAt: at,
        endedAt: at + 3_600_000,
        pricePerGpuHourMicros: 4_000_000,
        gpus: 1,
      },
      FEES,
    );
    await recordPayout(db, { nodeId: node, amountMicros: 1_000_000, idempotencyKey: "payout:earnings-test" });
    const res = await call("/v1/provider/earnings", authed(provider.apiKey));
    expect(res.status).toBe(200);
    const view = (await res.json()) as EarningsView;
    expect(view.nodes).toEqual([
      { nodeId: node, pending: "2.60", pendingMicros: 2_600_000, settled: "1.00", settledMicros: 1_000_000 },
    ]);
    expect(view.days).toHaveLength(1);
    expect(view.days[0]).toMatchObject({ nodeId: node, attempts: 1, earned: "3.60" });
    const stranger = (await (
      await call("/v1/provider/earnings", authed(user.apiKey))
    ).json()) as EarningsView;
    expect([stranger.nodes, stranger.days]).toEqual([[], []]);
    await expectError(
      await call("/v1/provider/earnings?from=2026-05-01&to=2026-04-01", authed(provider.apiKey)),
      400,
      "invalid_request",
    );
  });
});

describe("estimates", () => {
  it("gives a cost range from the live offers, and none when nothing matches", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([H100]));
    await agent.poll();
    const spec = {
      name: "estimate",
      image: "alpine:3",
      resources: { gpus: 1 },
      region: "eu-west",
      timeoutSeconds: 1800,
    };
    const res = await call("/v1/estimates", jsonInit("POST", spec, apiKey));
    expect(res.status).toBe(200);
    const view = (await res.json()) as EstimateView;
    expect(view).toMatchObject({
      offers: 1,
      perHour: { min: "2.00", max: "2.00" },
      maxTotal: { min: "1.00", maxMicros: 1_000_000 },
      minimumCharge: "0.000556",
    });
    const capped = (await (
      await call("/v1/estimates", jsonInit("POST", { ...spec, maxPricePerGpuHour: "1.50" }, apiKey))
    ).json()) as EstimateView;
    expect([capped.offers, capped.maxTotal]).toEqual([0, null]);
    await expectError(
      await call("/v1/estimates", jsonInit("POST", { ...spec, maxPricePerGpuHour: "-1" }, apiKey)),
      400,
      "invalid_request",
    );
    await expectError(await call("/v1/estimates", jsonInit("POST", spec)), 401, "unauthorized");
  });
});

describe("operator token", () => {
  it("is configured for these tests", () => {
    expect(operatorToken().length).toBeGreaterThan(0);
  });
});
