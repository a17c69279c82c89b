import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { RegionObject } from "../../src/durable/region-object.js";
import { authed, call, drainAgents, H100, hardware, signup, submit, TestAgent } from "./support.js";

/**
 * Kill the flow at every step and resume: the Region object restarts from its storage and its
 * outbox re-sends to D1; the money must come out exactly as in a clean run. Billing is per_task so
 * the charge does not depend on how long the steps took.
 */

const REGION = "ap-southeast";
const spec = {
  name: "crash",
  image: "meridian/busybox:test",
  region: REGION,
  resources: { gpus: 1 },
  maxPricePerGpuHour: "2.00",
  billing: { mode: "per_task", fixedPrice: "0.75" },
};

type Step = "hold" | "assigned" | "started" | "before_post" | "after_post";

function stub(): DurableObjectStub<RegionObject> {
  return env.REGION.get(env.REGION.idFromName(REGION));
}

interface Outcome {
  available: number;
  held: number;
  charged: number;
  provider: number;
  fee: number;
  burn: number;
  transfers: string[];
}

async function outcomeOf(accountId: string, jobId: string): Promise<Outcome> {
  const user = await env.DB.prepare("SELECT balance_micros AS b FROM ledger_accounts WHERE id = ?")
    .bind(`user:${accountId}`)
    .first<{ b: number }>();
  const hold = await env.DB.prepare("SELECT balance_micros AS b FROM ledger_accounts WHERE id = ?")
    .bind(`hold:${jobId}`)
    .first<{ b: number }>();
  const s = await env.DB.prepare(
    "SELECT coalesce(sum(charged_micros),0) AS c, coalesce(sum(provider_micros),0) AS p, coalesce(sum(fee_micros),0) AS f, coalesce(sum(burn_micros),0) AS b FROM ledger_settlements WHERE job_id = ?",
  )
    .bind(jobId)
    .first<{ c: number; p: number; f: number; b: number }>();
  const transfers = await env.DB.prepare(
    "SELECT kind, amount_micros FROM ledger_transfers WHERE job_id = ? ORDER BY kind",
  )
    .bind(jobId)
    .all<{ kind: string; amount_micros: number }>();
  return {
    available: user?.b ?? 0,
    held: hold?.b ?? 0,
    charged: s?.c ?? 0,
    provider: s?.p ?? 0,
    fee: s?.f ?? 0,
    burn: s?.b ?? 0,
    transfers: transfers.results.map((t) => `${t.kind}:${t.amount_micros}`),
  };
}

/** One job through hold → assignment → start → exit, killing every Durable Object at `crashAt`. */
async function run(crashAt: Step | null): Promise<Outcome> {
  // The previous run's node takes no more work: this job goes to this run's node.
  await drainAgents();
  const { id: accountId, apiKey } = await signup();
  const agent = new TestAgent();
  await agent.register(hardware([{ ...H100, uuid: `GPU-crash-${crashAt}-0000-0000-000000000000` }]), {
    region: REGION,
  });
  const crash = async (step: Step) => {
    if (crashAt === step) await abortAllDurableObjects();
  };
  const res = await submit(apiKey, spec);
  expect(res.status).toBe(201);
  const { id: jobId } = (await res.json()) as { id: string };
  await crash("hold");
  const a = (await agent.poll()).assignments.find((x) => x.jobId === jobId);
  if (!a) throw new Error("no assignment");
  await crash("assigned");
  const running = [{ attemptId: a.attemptId, fencing: a.fencing }];
  await agent.start(a);
  await crash("started");
  await agent.poll(running);
  if (crashAt === "before_post") {
    // The exit is in the object's storage with its outbox entries, and D1 has not seen them yet.
    await runInDurableObject(stub(), (instance) => {
      (instance as unknown as { outbox: { flush: () => Promise<void> } }).outbox.flush = async () => {};
    });
  }
  if (crashAt === "after_post") {
    // D1 took the batch, then the object died before forgetting it: the entries go again.
    await runInDurableObject(stub(), (instance) => {
      const outbox = (instance as unknown as { outbox: { flush: () => Promise<void> } }).outbox;
      const storage = (instance as unknown as { ctx: DurableObjectState }).ctx.storage;
      const original = outbox.flush.bind(outbox);
      outbox.flush = async () => {
        const pending = await storage.list({ prefix: "outbox:" });
        await original();
        await storage.put(Object.fromEntries(pending));
      };
    });
  }
  await agent.exit(a);
  if (crashAt === "before_post") {
    const posted = await env.DB.prepare("SELECT count(*) AS n FROM ledger_settlements WHERE job_id = ?")
      .bind(jobId)
      .first<{ n: number }>();
    expect(posted?.n).toBe(0);
  }
  await crash("before_post");
  await crash("after_post");
  // The restarted object's alarm sends what its outbox still holds.
  await runDurableObjectAlarm(stub());
  await runDurableObjectAlarm(stub());
  const job = (await (await call(`/v1/jobs/${jobId}`, authed(apiKey))).json()) as { status: string };
  expect(job.status).toBe("succeeded");
  return outcomeOf(accountId, jobId);
}

describe("a crash at every step of the charge path", () => {
  afterEach(drainAgents);

  it("comes out exactly as a clean run, whichever step the Region object dies at", async () => {
    const clean = await run(null);
    expect(clean).toMatchObject({ available: 4_250_000, held: 0, charged: 750_000 });
    expect(clean.provider + clean.fee).toBe(750_000);
    for (const step of ["hold", "assigned", "started", "after_post"] as const) {
      expect({ step, ...(await run(step)) }).toEqual({ step, ...clean });
    }
    const sum = await env.DB.prepare(
      "SELECT coalesce(sum(balance_micros), 0) AS s FROM ledger_accounts",
    ).first<{
      s: number;
    }>();
    expect(sum?.s).toBe(0);
    // Five full runs: more than the default 5 s on a loaded 2-core machine.
  }, 30_000);

  // Known bug (src/durable, the lead's): the restarted object's alarm sweeps, but `save()` only
  // flushes the outbox when the sweep itself made new entries, so entries staged before the crash
  // wait in storage until the region's next state change. Remove `.fails` once the alarm flushes.
  it("re-sends the outbox from the alarm after a kill before the post", async () => {
    const clean = await run(null);
    expect({ step: "before_post", ...(await run("before_post")) }).toEqual({ step: "before_post", ...clean });
  });
});
