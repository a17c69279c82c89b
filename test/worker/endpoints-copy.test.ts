import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Assignment } from "../../src/shared/agent-protocol.js";
import { parseTiming, SERVER_TIMING } from "../../src/shared/endpoints/server-timing.js";
import { GATEWAY_COPY_MAX_AGE_MS } from "../../src/worker/gateway/gateway-copies.js";
import { ShortCopy } from "../../src/worker/gateway/short-copy.js";
import { settle, TunnelEnd } from "./endpoints-support.js";
import { authed, call, drainAgents, hardware, jsonInit, signup, TestAgent } from "./support.js";

// The gateway routes from its isolate's short-lived copy of an endpoint (ready regions, owner,
// visibility, status) and of each key's check, with no hop through the endpoint's object, and
// reports arrivals and ends afterwards. What must still hold: a revoked key and a deleted endpoint
// are refused (at once where the change was made, within GATEWAY_COPY_MAX_AGE_MS elsewhere),
// metrics and the autoscaler's in-flight count see every request, and a stale copy that names a
// replica no longer ready hands the caller to the object, which waits for a replica.

const SPEC = {
  name: "copied",
  image: "meridian/llm:test",
  port: 8080,
  readiness: { path: "/health" },
  resources: { cpus: 1, memoryGb: 1 },
  regions: ["eu-west"],
  replicas: { min: 1, max: 1 },
};

const tunnels: TunnelEnd[] = [];
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function endpointObject(id: string) {
  return env.ENDPOINT.get(env.ENDPOINT.idFromName(id));
}

interface Metrics {
  requests: number;
  errors: number;
  inFlight: number;
  tokens: { prompt: number; completion: number };
}

async function metricsOf(apiKey: string, id: string): Promise<Metrics> {
  return (await (await call(`/v1/endpoints/${id}/metrics`, authed(apiKey))).json()) as Metrics;
}

/** Polls the endpoint's metrics (reports arrive after the response) until `done` holds. */
async function metricsUntil(apiKey: string, id: string, done: (m: Metrics) => boolean): Promise<Metrics> {
  let last = await metricsOf(apiKey, id);
  for (let i = 0; i < 60 && !done(last); i++) {
    await settle(50);
    last = await metricsOf(apiKey, id);
  }
  return last;
}

async function readyReplica(apiKey: string, id: string, want = "ready"): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { replicas } = (await (await call(`/v1/endpoints/${id}/replicas`, authed(apiKey))).json()) as {
      replicas: { state: string }[];
    };
    if (replicas.some((r) => r.state === want)) return;
    await settle(50);
  }
  throw new Error(`no replica became ${want}`);
}

async function servedEndpoint(
  name: string,
): Promise<{ apiKey: string; accountId: string; id: string; tunnel: TunnelEnd; a: Assignment }> {
  const { apiKey, id: accountId } = await signup();
  const agent = new TestAgent();
  await agent.register(hardware([], 1, 1024));
  const res = await call("/v1/endpoints", jsonInit("POST", { ...SPEC, name }, apiKey));
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  await runDurableObjectAlarm(endpointObject(id));
  const a = (await agent.poll()).assignments.find((x) => x.service?.endpointId === id);
  if (!a) throw new Error("the replica was not assigned");
  await agent.start(a);
  const tunnel = await TunnelEnd.open(agent);
  tunnels.push(tunnel);
  tunnel.ready(a);
  await readyReplica(apiKey, id);
  return { apiKey, accountId, id, tunnel, a };
}

function chat(apiKey: string, model: string): Promise<Response> {
  return call("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
}

/** The agent answers the tunnel's next request with a small JSON completion carrying usage. */
async function answerNext(tunnel: TunnelEnd): Promise<void> {
  const { frame: open } = await tunnel.frame("open");
  await tunnel.body(open.s);
  tunnel.send({ t: "head", s: open.s, status: 200, headers: [["content-type", "application/json"]] });
  tunnel.sendData(open.s, text('{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}}'));
  tunnel.send({ t: "end", s: open.s });
}

async function served(apiKey: string, model: string, tunnel: TunnelEnd): Promise<Response> {
  const answer = chat(apiKey, model);
  await answerNext(tunnel);
  const res = await answer;
  await res.text();
  return res;
}

describe("the gateway's copy of an endpoint", { timeout: 30_000 }, () => {
  afterEach(async () => {
    for (const t of tunnels.splice(0)) t.close();
    await settle();
    await drainAgents();
  });

  it("serves without the endpoint's object and still counts every request, its tokens and its time in flight", async () => {
    const { apiKey, id, tunnel } = await servedEndpoint("metered-copy");
    for (let i = 0; i < 3; i++) {
      const res = await served(apiKey, "metered-copy", tunnel);
      expect(res.status).toBe(200);
      const timing = parseTiming(res.headers.get(SERVER_TIMING));
      // Routed from the copy: no `endpoint` entry (the object's own part), a `copy` one instead.
      expect(timing.copy).toBeDefined();
      expect(timing.endpoint).toBeUndefined();
    }
    const counted = await metricsUntil(apiKey, id, (m) => m.requests >= 3);
    expect(counted).toMatchObject({
      requests: 3,
      errors: 0,
      inFlight: 0,
      tokens: { prompt: 9, completion: 12 },
    });

    // A request in flight counts as in flight at the object (the autoscaler's concurrency, and
    // what keeps an endpoint from scaling to zero under a long stream), and stops counting at its end.
    const pending = chat(apiKey, "metered-copy");
    const { frame: open } = await tunnel.frame("open");
    await tunnel.body(open.s);
    tunnel.send({ t: "head", s: open.s, status: 200, headers: [["content-type", "text/event-stream"]] });
    tunnel.sendData(open.s, text('data: {"choices":[]}\n\n'));
    const res = await pending;
    const reader = res.body?.getReader();
    await reader?.read();
    expect((await metricsUntil(apiKey, id, (m) => m.inFlight === 1)).inFlight).toBe(1);
    tunnel.send({ t: "end", s: open.s });
    while (reader && !(await reader.read()).done);
    const after = await metricsUntil(apiKey, id, (m) => m.requests >= 4 && m.inFlight === 0);
    expect(after).toMatchObject({ requests: 4, inFlight: 0 });
  });

  it("refuses a revoked key at once, and a scoped key on another endpoint", async () => {
    const { apiKey, id, tunnel } = await servedEndpoint("keyed-copy");
    const key = (await (
      await call("/v1/account/keys", jsonInit("POST", { scopes: [`endpoint:${id}`] }, apiKey))
    ).json()) as { id: string; apiKey: string };
    expect((await served(key.apiKey, id, tunnel)).status).toBe(200);
    expect((await served(key.apiKey, id, tunnel)).status).toBe(200);
    // The key's check is now in this isolate's copy; revoking it here drops it at once.
    expect((await call(`/v1/account/keys/${key.id}`, authed(apiKey, "DELETE"))).status).toBe(200);
    const refused = await chat(key.apiKey, id);
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("invalid_api_key");

    const other = await servedEndpoint("other-copy");
    const scoped = (await (
      await call("/v1/account/keys", jsonInit("POST", { scopes: [`endpoint:${id}`] }, apiKey))
    ).json()) as { apiKey: string };
    // Another account's private endpoint is unknown to this key (404); with its own account's
    // other endpoint the scope refuses (403); both from the copy, nothing reaches a replica.
    expect((await chat(scoped.apiKey, other.id)).status).toBe(404);
    const second = await call(
      "/v1/endpoints",
      jsonInit("POST", { ...SPEC, name: "second-copy", replicas: { min: 0, max: 1 } }, apiKey),
    );
    const secondId = ((await second.json()) as { id: string }).id;
    expect((await chat(scoped.apiKey, secondId)).status).toBe(403);
    expect(tunnel.received.some((r) => r.kind === "frame" && r.frame.t === "open")).toBe(false);
    expect(other.tunnel.received.some((r) => r.kind === "frame" && r.frame.t === "open")).toBe(false);
  });

  it("refuses a deleted endpoint at once where it was deleted, and within the copy's age elsewhere", async () => {
    const here = await servedEndpoint("deleted-here");
    expect((await served(here.apiKey, "deleted-here", here.tunnel)).status).toBe(200);
    expect((await call(`/v1/endpoints/${here.id}`, authed(here.apiKey, "DELETE"))).status).toBe(200);
    expect((await chat(here.apiKey, here.id)).status).toBe(404);
    expect((await chat(here.apiKey, "deleted-here")).status).toBe(404);

    // Deleted through the object alone, as another isolate's route would: this isolate's copy does
    // not hear of it, and must stop serving once it is GATEWAY_COPY_MAX_AGE_MS old.
    const there = await servedEndpoint("deleted-there");
    expect((await served(there.apiKey, there.id, there.tunnel)).status).toBe(200);
    await endpointObject(there.id).remove(there.accountId);
    await settle(GATEWAY_COPY_MAX_AGE_MS + 100);
    const res = await chat(there.apiKey, there.id);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("model_not_found");
  });

  it("hands a caller to the object when the copy names a replica no longer ready, which waits for one", async () => {
    const { apiKey, id, tunnel, a } = await servedEndpoint("stale-copy");
    expect((await served(apiKey, "stale-copy", tunnel)).status).toBe(200);
    // The replica stops being ready; the copy (under a second old) still says it is.
    tunnel.ready(a, "unready");
    await readyReplica(apiKey, id, "unready");
    const waiting = chat(apiKey, "stale-copy");
    await settle(300);
    expect(tunnel.received.some((r) => r.kind === "frame" && r.frame.t === "open")).toBe(false);
    // The object holds the request as at a cold start; the replica comes back and serves it.
    tunnel.ready(a);
    await answerNext(tunnel);
    const res = await waiting;
    expect(res.status).toBe(200);
    expect(parseTiming(res.headers.get(SERVER_TIMING)).endpoint).toBeDefined();
    expect((await metricsUntil(apiKey, id, (m) => m.requests >= 2)).requests).toBe(2);
  });
});

describe("ShortCopy", () => {
  const background = (work: Promise<unknown>): void => void work;

  it("reloads past its age, refreshes in the background before it, and drops what a forget overtook", async () => {
    const copy = new ShortCopy<number>({ maxAgeMs: 1_000, refreshAfterMs: 500, maxEntries: 10 });
    let loads = 0;
    const load = async (): Promise<number> => ++loads;
    const start = Date.now();
    expect(await copy.get("k", load, background, start)).toBe(1);
    expect(await copy.get("k", load, background, start + 100)).toBe(1);
    expect(loads).toBe(1);
    // Past refreshAfterMs: the old value is answered, a reload runs behind it.
    expect(await copy.get("k", load, background, start + 600)).toBe(1);
    await settle(0);
    expect(loads).toBe(2);
    // Past maxAgeMs of the newest load: never answered from the copy.
    expect(await copy.get("k", load, background, Date.now() + 1_000)).toBe(3);

    let release: (value: number) => void = () => undefined;
    const slow = (): Promise<number> =>
      new Promise<number>((resolve) => {
        release = resolve;
      });
    copy.forget("k");
    const loading = copy.get("k", slow, background);
    copy.forget("k");
    release(99);
    expect(await loading).toBe(99);
    // The load began before the forget: what it read was not kept.
    expect(await copy.get("k", load, background)).toBe(4);
    // A null answer is never kept.
    const none = async (): Promise<number | null> => null;
    expect(await copy.get("gone", none, background)).toBeNull();
    expect(await copy.get("gone", load, background)).toBe(5);
  });
});
