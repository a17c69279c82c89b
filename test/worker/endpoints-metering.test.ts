import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { holdSecondsOf } from "../../src/durable/endpoints/endpoint-reconcile.js";
import type { Assignment } from "../../src/shared/agent-protocol.js";
import { settle, TunnelEnd } from "./endpoints-support.js";
import {
  authed,
  balance,
  call,
  drainAgents,
  h100Numbered,
  hardware,
  jsonInit,
  signup,
  TestAgent,
} from "./support.js";

// What an endpoint costs: each replica is a job whose hold (the node's price × GPUs × the hold
// period) is taken when it is placed and settled by the second when it stops; the hold is renewed
// by a successor replica before it runs out (make before break), and an account that cannot fund
// the successor has its endpoint scaled to zero with an event and a clear error to callers. Token
// usage from each response is counted in the endpoint's metrics.

const HOLD_SECONDS = holdSecondsOf(env);
const tunnels: TunnelEnd[] = [];
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function endpointObject(id: string) {
  return env.ENDPOINT.get(env.ENDPOINT.idFromName(id));
}

interface Replica {
  jobId: string;
  attemptId: string | null;
  state: string;
}

async function replicasOf(apiKey: string, id: string): Promise<Replica[]> {
  const res = await call(`/v1/endpoints/${id}/replicas`, authed(apiKey));
  return ((await res.json()) as { replicas: Replica[] }).replicas;
}

async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await settle(50);
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function settlementOf(
  jobId: string,
): Promise<{ billable_seconds: number; charged_micros: number } | undefined> {
  const row = await env.DB.prepare(
    "SELECT billable_seconds, charged_micros FROM ledger_settlements WHERE job_id = ?",
  )
    .bind(jobId)
    .first<{ billable_seconds: number; charged_micros: number }>();
  return row ?? undefined;
}

/** A provider's node with `gpus` H100s at `price` per GPU-hour, in eu-west. */
async function providerNode(gpus: number, price: string): Promise<TestAgent> {
  const provider = await signup();
  const agent = new TestAgent();
  agent.ownerApiKey = provider.apiKey;
  await agent.register(
    hardware(
      Array.from({ length: gpus }, (_, i) => h100Numbered(i + 1)),
      8,
      16384,
    ),
    { pricePerGpuHour: price },
  );
  return agent;
}

/** An endpoint of one 1-GPU replica; its price cap (here the node's price) fixes each replica's hold. */
async function createEndpoint(apiKey: string, name: string, cap: string): Promise<string> {
  const res = await call(
    "/v1/endpoints",
    jsonInit(
      "POST",
      {
        name,
        image: "meridian/llm:test",
        port: 8080,
        readiness: { path: "/health" },
        resources: { gpus: 1 },
        maxPricePerGpuHour: cap,
        regions: ["eu-west"],
        replicas: { min: 1, max: 1 },
      },
      apiKey,
    ),
  );
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/**
 * The node's polls, as a running agent keeps them up: every few hundred ms, listing the replicas it
 * runs (a node silent for a few of its usual gaps loses its attempts). The only poller of its node;
 * the assignments it is offered wait in `offered`.
 */
class Heartbeat {
  readonly running: Assignment[] = [];
  private readonly offered: Assignment[] = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(readonly agent: TestAgent) {
    this.loop = (async () => {
      while (!this.stopped) {
        const answer = await agent.poll(
          this.running.map((a) => ({ attemptId: a.attemptId, fencing: a.fencing })),
        );
        for (const a of answer.assignments)
          if (![...this.running, ...this.offered].some((x) => x.attemptId === a.attemptId))
            this.offered.push(a);
        for (const order of answer.stop) {
          // A stop order is carried out and reported at once, as the agent does once it stopped the container.
          this.stops.push(order.attemptId);
          const at = this.running.findIndex((x) => x.attemptId === order.attemptId);
          const stopped = this.running.splice(at, at >= 0 ? 1 : 0)[0];
          if (stopped) await agent.exit(stopped, null, "cancelled");
        }
        await settle(200);
      }
    })();
    beats.push(this);
  }

  readonly stops: string[] = [];

  /** Takes the endpoint's next offered assignment, starts it and reports it ready on a tunnel. */
  async start(endpointId: string, tunnel?: TunnelEnd): Promise<Assignment> {
    const a = await until("an assignment", async () => {
      const at = this.offered.findIndex((x) => x.service?.endpointId === endpointId);
      return at >= 0 ? this.offered.splice(at, 1)[0] : undefined;
    });
    await this.agent.start(a);
    this.running.push(a);
    const t = tunnel ?? (await TunnelEnd.open(this.agent));
    if (!tunnel) tunnels.push(t);
    t.ready(a);
    return a;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop.catch(() => undefined);
  }
}
const beats: Heartbeat[] = [];

function chat(apiKey: string, model: string): Promise<Response> {
  return call("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "hi" }] }),
  });
}

/** Serves one streamed completion on the tunnel, reporting this usage; the replica that took it. */
async function serveOne(
  tunnel: TunnelEnd,
  pending: Promise<Response>,
  usage: { prompt: number; completion: number },
): Promise<string> {
  // A caller answered without reaching the tunnel fails here with its answer, not a timeout.
  const early = pending.then(async (res) => {
    throw new Error(`answered ${res.status} before reaching the replica: ${await res.clone().text()}`);
  });
  const { frame: open } = await Promise.race([tunnel.frame("open"), early]);
  early.catch(() => undefined);
  await tunnel.body(open.s);
  tunnel.send({ t: "head", s: open.s, status: 200, headers: [["content-type", "text/event-stream"]] });
  tunnel.sendData(open.s, text('data: {"choices":[{"delta":{"content":"ok"}}]}\n\n'));
  tunnel.sendData(
    open.s,
    text(
      `data: {"choices":[],"usage":{"prompt_tokens":${usage.prompt},"completion_tokens":${usage.completion}}}\n\n`,
    ),
  );
  tunnel.sendData(open.s, text("data: [DONE]\n\n"));
  tunnel.send({ t: "end", s: open.s });
  const res = await pending;
  expect(res.status).toBe(200);
  expect(await res.text()).toContain("[DONE]");
  return open.attemptId;
}

/** Ages the endpoint's replicas as if `seconds` had passed since they were placed. */
async function ageReplicas(id: string, seconds: number): Promise<void> {
  await runInDurableObject(endpointObject(id), (instance) => {
    const replicas = (instance as unknown as { replicas: { createdAt: number }[] }).replicas;
    for (const r of replicas) r.createdAt -= seconds * 1000;
  });
}

async function eventsOf(apiKey: string, id: string): Promise<{ type: string; message: string }[]> {
  const res = await call(`/v1/endpoints/${id}/events`, authed(apiKey));
  return ((await res.json()) as { events: { type: string; message: string }[] }).events;
}

describe("endpoints: metering and the replica's hold", { timeout: 45_000 }, () => {
  afterEach(async () => {
    for (const b of beats.splice(0)) await b.stop();
    for (const t of tunnels.splice(0)) t.close();
    await settle();
    await drainAgents();
  });

  it("charges a replica's seconds at the node's price × GPUs through its hold, and counts each response's tokens", async () => {
    const user = await signup();
    const node = new Heartbeat(await providerNode(1, "2.00"));
    const id = await createEndpoint(user.apiKey, "metered", "2.00");
    await runDurableObjectAlarm(endpointObject(id));
    // Placed: one GPU at the 2.00/h cap held for the hold period.
    const held = Math.ceil((2_000_000 * HOLD_SECONDS) / 3600);
    expect(await balance(user.apiKey)).toMatchObject({ availableMicros: 5_000_000 - held, heldMicros: held });
    const a = await node.start(id);
    await until("the replica ready", async () =>
      (await replicasOf(user.apiKey, id)).some((r) => r.state === "ready") ? true : undefined,
    );
    const tunnel = tunnels[0];
    if (!tunnel) throw new Error("no tunnel");
    expect(await serveOne(tunnel, chat(user.apiKey, "metered"), { prompt: 5, completion: 2 })).toBe(
      a.attemptId,
    );
    await serveOne(tunnel, chat(user.apiKey, "metered"), { prompt: 7, completion: 3 });
    const metrics = (await (await call(`/v1/endpoints/${id}/metrics`, authed(user.apiKey))).json()) as {
      requests: number;
      tokens: { prompt: number; completion: number };
      replicaSeconds: number;
    };
    expect(metrics).toMatchObject({ requests: 2, tokens: { prompt: 12, completion: 5 } });

    // Running a couple of seconds, then stopped: the ledger charges those seconds, not the hold.
    await settle(2_100);
    const [replica] = await replicasOf(user.apiKey, id);
    if (!replica) throw new Error("no replica");
    expect((await call(`/v1/endpoints/${id}`, authed(user.apiKey, "DELETE"))).status).toBe(200);
    // The node is told to stop it, and reports it stopped (the heartbeat does, as an agent does).
    await until("the stop order", async () => (node.stops.includes(a.attemptId) ? true : undefined));
    const settlement = await until("the replica's settlement", () => settlementOf(replica.jobId));
    expect(settlement.billable_seconds).toBeGreaterThanOrEqual(2);
    expect(settlement.billable_seconds).toBeLessThan(HOLD_SECONDS);
    expect(settlement.charged_micros).toBe(Math.ceil((settlement.billable_seconds * 2_000_000) / 3600));
    expect(await balance(user.apiKey)).toEqual(
      expect.objectContaining({ availableMicros: 5_000_000 - settlement.charged_micros, heldMicros: 0 }),
    );
    // The usage report says the same, by job.
    const today = new Date().toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const usage = (await (
      await call(`/v1/usage?from=${today}&to=${tomorrow}&groupBy=job`, authed(user.apiKey))
    ).json()) as { rows: { key: string; billableSeconds: number; chargedMicros: number }[] };
    expect(usage.rows).toContainEqual(
      expect.objectContaining({
        key: replica.jobId,
        billableSeconds: settlement.billable_seconds,
        chargedMicros: settlement.charged_micros,
      }),
    );
  });

  it("renews a replica's hold with a successor before it ends, and stops the old one only once the successor is ready", async () => {
    const user = await signup();
    const node = new Heartbeat(await providerNode(2, "1.00"));
    const id = await createEndpoint(user.apiKey, "renewed", "1.00");
    await runDurableObjectAlarm(endpointObject(id));
    const hold = Math.ceil((1_000_000 * HOLD_SECONDS) / 3600);
    const first = await node.start(id);
    const tunnel = tunnels[0];
    if (!tunnel) throw new Error("no tunnel");
    const [old] = await until("the first replica ready", async () => {
      const replicas = await replicasOf(user.apiKey, id);
      return replicas.some((r) => r.state === "ready") ? replicas : undefined;
    });
    if (!old) throw new Error("no replica");

    // 80% into its hold: a successor is placed (a second hold), the old replica still serves.
    await ageReplicas(id, HOLD_SECONDS * 0.8 + 1);
    await runDurableObjectAlarm(endpointObject(id));
    const both = await replicasOf(user.apiKey, id);
    expect(both).toHaveLength(2);
    expect(await balance(user.apiKey)).toMatchObject({ heldMicros: 2 * hold });
    expect(await serveOne(tunnel, chat(user.apiKey, "renewed"), { prompt: 1, completion: 1 })).toBe(
      first.attemptId,
    );

    // The successor becomes ready: the old replica is drained and stopped, its hold settled.
    const second = await node.start(id, tunnel);
    expect(second.jobId).not.toBe(old.jobId);
    await until("the successor ready", async () =>
      (await replicasOf(user.apiKey, id)).some((r) => r.attemptId === second.attemptId && r.state === "ready")
        ? true
        : undefined,
    );
    await runDurableObjectAlarm(endpointObject(id));
    const after = await until("the old replica retired", async () => {
      const replicas = await replicasOf(user.apiKey, id);
      return replicas.length === 1 ? replicas : undefined;
    });
    expect(after).toMatchObject([{ jobId: second.jobId, state: "ready" }]);
    const events = await eventsOf(user.apiKey, id);
    expect(events.some((e) => e.type === "replica_replaced" && e.message.includes(old.jobId))).toBe(true);
    const settlement = await until("the old replica's settlement", () => settlementOf(old.jobId));
    expect(await balance(user.apiKey)).toMatchObject({
      availableMicros: 5_000_000 - hold - settlement.charged_micros,
      heldMicros: hold,
    });
    expect(await serveOne(tunnel, chat(user.apiKey, "renewed"), { prompt: 1, completion: 1 })).toBe(
      second.attemptId,
    );
  });

  it("scales to zero with an event and tells callers why when the balance cannot fund the renewal", async () => {
    const user = await signup();
    // A hold of 3.00 fits the 5.00 balance once, not twice.
    const node = new Heartbeat(await providerNode(2, "3.00"));
    const id = await createEndpoint(user.apiKey, "unfunded", "3.00");
    await runDurableObjectAlarm(endpointObject(id));
    expect(await balance(user.apiKey)).toMatchObject({ availableMicros: 2_000_000, heldMicros: 3_000_000 });
    const [only] = await replicasOf(user.apiKey, id);
    if (!only) throw new Error("no replica");
    await node.start(id);
    await until("the replica ready", async () =>
      (await replicasOf(user.apiKey, id)).some((r) => r.state === "ready") ? true : undefined,
    );
    await ageReplicas(id, HOLD_SECONDS * 0.8 + 1);
    await runDurableObjectAlarm(endpointObject(id));

    const view = (await (await call(`/v1/endpoints/${id}`, authed(user.apiKey))).json()) as {
      status: string;
      reason: string;
      desiredReplicas: number;
    };
    expect(view).toMatchObject({ status: "suspended", desiredReplicas: 0 });
    expect(view.reason).toMatch(/cannot fund a replica/);
    expect(await replicasOf(user.apiKey, id)).toEqual([]);
    const events = await eventsOf(user.apiKey, id);
    expect(events.find((e) => e.type === "suspended")?.message).toMatch(/scaled to zero/);
    const refused = await chat(user.apiKey, "unfunded");
    expect(refused.status).toBe(402);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("insufficient_balance");
    expect(body.error.message).toMatch(/cannot fund a replica/);
    // The running replica was stopped and settled: nothing is left held.
    const settlement = await until("the replica's settlement", () => settlementOf(only.jobId));
    expect(await balance(user.apiKey)).toMatchObject({
      availableMicros: 5_000_000 - settlement.charged_micros,
      heldMicros: 0,
    });
  });
});
