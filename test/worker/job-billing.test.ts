import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import {
  authed,
  balance,
  call,
  drainAgents,
  expectError,
  expireLeases,
  H100,
  hardware,
  jsonInit as jobInit,
  jobOf,
  signup,
  submit,
  TestAgent,
} from "./support.js";

const spec = {
  name: "paid",
  image: "meridian/busybox:test",
  command: ["true"],
  region: "eu-west",
  resources: { gpus: 1 },
  maxPricePerGpuHour: "2.00",
  timeoutSeconds: 3600,
};

async function sumOfAllAccounts(): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT COALESCE(SUM(balance_micros), 0) AS s FROM ledger_accounts",
  ).first<{ s: number }>();
  return row?.s ?? Number.NaN;
}

async function jobCount(): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs").first<{ n: number }>())?.n ?? 0;
}

describe("what a job costs", () => {
  afterEach(drainAgents);

  it("holds the most a GPU job can cost at submit, charges the seconds it ran, and gives back the rest", async () => {
    const { apiKey } = await signup();
    const provider = await signup();
    expect(await balance(apiKey)).toMatchObject({ availableMicros: 5_000_000, heldMicros: 0 });
    const agent = new TestAgent();
    agent.ownerApiKey = provider.apiKey;
    await agent.register(hardware([H100]));
    const created = (await (await submit(apiKey, spec)).json()) as {
      id: string;
      cost: Record<string, unknown>;
    };
    const id = created.id;
    expect(created.cost).toEqual({ charged: "0.00", chargedMicros: 0, held: "2.00", heldMicros: 2_000_000 });
    expect(await balance(apiKey)).toMatchObject({ availableMicros: 3_000_000, heldMicros: 2_000_000 });

    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    await agent.start(a);
    await agent.exit(a);
    expect((await jobOf(apiKey, id)).status).toBe("succeeded");

    const settlement = await env.DB.prepare("SELECT * FROM ledger_settlements WHERE job_id = ?")
      .bind(id)
      .first<{
        billable_seconds: number;
        charged_micros: number;
        fee_micros: number;
        provider_micros: number;
      }>();
    if (!settlement) throw new Error("no settlement");
    // Per second, rounded up: a run of under a second bills one second of one GPU at 2.00/h.
    expect(settlement.billable_seconds).toBeGreaterThanOrEqual(1);
    expect(settlement.charged_micros).toBe(Math.ceil((settlement.billable_seconds * 2_000_000) / 3600));
    expect(settlement.provider_micros + settlement.fee_micros).toBe(settlement.charged_micros);
    expect(await balance(apiKey)).toMatchObject({
      availableMicros: 5_000_000 - settlement.charged_micros,
      heldMicros: 0,
    });
    expect(await sumOfAllAccounts()).toBe(0);
    const view = (await (await call(`/v1/jobs/${id}`, authed(apiKey))).json()) as {
      cost: Record<string, unknown>;
    };
    expect(view.cost).toMatchObject({ chargedMicros: settlement.charged_micros, heldMicros: 0 });

    // The node's owner sees what it earned, net of the platform fee, as pending.
    const earnings = (await (await call("/v1/provider/earnings", authed(provider.apiKey))).json()) as {
      nodes: { nodeId: string; pendingMicros: number }[];
    };
    expect(earnings.nodes).toEqual([
      expect.objectContaining({ nodeId: agent.nodeId, pendingMicros: settlement.provider_micros }),
    ]);
  });

  it("refuses a registration whose owner key is not valid, and lists nothing", async () => {
    const agent = new TestAgent();
    agent.ownerApiKey = "mrd_not_a_key";
    await expect(agent.register(hardware([H100]))).rejects.toThrow(/401/);
    expect(agent.nodeId).toBe("");
  });

  it("refuses a job the balance cannot cover with 402 and what is needed, storing nothing", async () => {
    const { apiKey } = await signup();
    const before = await jobCount();
    const res = await submit(apiKey, { ...spec, maxPricePerGpuHour: "9.00" });
    expect(res.status).toBe(402);
    const body = (await res.json()) as {
      error: { code: string; details: { neededMicros: number; availableMicros: number } };
    };
    expect(body.error.code).toBe("insufficient_funds");
    expect(body.error.details).toMatchObject({ neededMicros: 9_000_000, availableMicros: 5_000_000 });
    expect(await jobCount()).toBe(before);
    expect(await balance(apiKey)).toMatchObject({ availableMicros: 5_000_000, heldMicros: 0 });
  });

  it("charges nothing for an attempt lost to its node, and releases the hold", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([H100]));
    const { id } = (await (await submit(apiKey, { ...spec, maxRetries: 0 })).json()) as { id: string };
    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    await agent.start(a);
    await expireLeases([a.attemptId]);
    expect((await jobOf(apiKey, id)).status).toBe("lost");
    expect(await balance(apiKey)).toMatchObject({ availableMicros: 5_000_000, heldMicros: 0 });
    const settlement = await env.DB.prepare(
      "SELECT outcome, charged_micros FROM ledger_settlements WHERE attempt_id = ?",
    )
      .bind(a.attemptId)
      .first();
    expect(settlement).toEqual({ outcome: "lost", charged_micros: 0 });
  });

  it("releases the whole hold of a job cancelled while queued", async () => {
    const { apiKey } = await signup();
    const { id, cost } = (await (
      await submit(apiKey, { ...spec, resources: { gpus: 8 }, maxPricePerGpuHour: "0.10" })
    ).json()) as {
      id: string;
      cost: { heldMicros: number; chargedMicros: number };
    };
    expect(await balance(apiKey)).toMatchObject({ heldMicros: 800_000 });
    // The submit's answer (the hold its admission wrote) agrees with the ledger read back.
    expect(cost).toEqual({ ...cost, heldMicros: 800_000, chargedMicros: 0 });
    const read = (await (await call(`/v1/jobs/${id}`, authed(apiKey))).json()) as { cost: unknown };
    expect(read.cost).toEqual(cost);
    await call(`/v1/jobs/${id}/cancel`, authed(apiKey, "POST"));
    expect(await balance(apiKey)).toMatchObject({ availableMicros: 5_000_000, heldMicros: 0 });
  });

  it("treats a retried submit with the same Idempotency-Key as the first, and refuses the key for another body", async () => {
    const { apiKey } = await signup();
    const send = (body: unknown, key: string) =>
      call("/v1/jobs", {
        ...jobInit("POST", body, apiKey),
        headers: { ...jobHeaders(apiKey), "idempotency-key": key },
      });
    const first = await send(spec, "submit-1");
    expect(first.status).toBe(201);
    const again = await send(spec, "submit-1");
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const [a, b] = [(await first.json()) as { id: string }, (await again.json()) as { id: string }];
    expect(b.id).toBe(a.id);
    expect(await balance(apiKey)).toMatchObject({ heldMicros: 2_000_000 });
    const before = await jobCount();
    await expectError(await send({ ...spec, name: "other" }, "submit-1"), 409, "idempotency_key_reused");
    await expectError(await send(spec, "bad key with spaces"), 400, "invalid_idempotency_key");
    expect(await jobCount()).toBe(before);
  });
});

function jobHeaders(apiKey: string): Record<string, string> {
  return { "content-type": "application/json", authorization: `Bearer ${apiKey}` };
}
