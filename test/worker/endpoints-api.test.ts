import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Assignment } from "../../src/shared/agent-protocol.js";
import { settle, TunnelEnd } from "./endpoints-support.js";
import { authed, call, drainAgents, expectError, hardware, jsonInit, signup, TestAgent } from "./support.js";

const SPEC = {
  name: "tiny-llm",
  image: "meridian/llm:test",
  port: 8080,
  readiness: { path: "/health" },
  resources: { cpus: 1, memoryGb: 1 },
  regions: ["eu-west"],
  replicas: { min: 1, max: 2 },
};

function endpointObject(id: string) {
  return env.ENDPOINT.get(env.ENDPOINT.idFromName(id));
}

async function create(apiKey: string, spec: unknown): Promise<Response> {
  return call("/v1/endpoints", jsonInit("POST", spec, apiKey));
}

const tunnels: TunnelEnd[] = [];
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** An endpoint with one ready replica on a test agent whose tunnel the test speaks for. */
async function servedEndpoint(
  name: string,
): Promise<{ apiKey: string; id: string; tunnel: TunnelEnd; a: Assignment }> {
  const { apiKey } = await signup();
  const agent = new TestAgent();
  await agent.register(hardware([], 1, 1024));
  const res = await create(apiKey, { ...SPEC, name });
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  await runDurableObjectAlarm(endpointObject(id));
  const a = (await agent.poll()).assignments.find((x) => x.service?.endpointId === id);
  if (!a) throw new Error("the replica was not assigned");
  await agent.start(a);
  const tunnel = await TunnelEnd.open(agent);
  tunnels.push(tunnel);
  tunnel.ready(a);
  for (let i = 0; i < 100; i++) {
    const { replicas } = (await (await call(`/v1/endpoints/${id}/replicas`, authed(apiKey))).json()) as {
      replicas: { state: string }[];
    };
    if (replicas.some((r) => r.state === "ready")) break;
    await settle(50);
  }
  return { apiKey, id, tunnel, a };
}

function chat(apiKey: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The agent's side of one chat completion: checks the request, answers an SSE stream with usage. */
async function answerStream(tunnel: TunnelEnd): Promise<void> {
  const { frame: open } = await tunnel.frame("open");
  expect(open.path).toBe("/v1/chat/completions");
  expect(open.headers.some(([name]) => name === "authorization")).toBe(false);
  await tunnel.body(open.s);
  tunnel.send({ t: "head", s: open.s, status: 200, headers: [["content-type", "text/event-stream"]] });
  tunnel.sendData(open.s, text('data: {"choices":[{"delta":{"content":"Hel"}}]}\n\n'));
  tunnel.sendData(open.s, text('data: {"choices":[{"delta":{"content":"lo"}}]}\n\n'));
  tunnel.sendData(open.s, text('data: {"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2}}\n\n'));
  tunnel.sendData(open.s, text("data: [DONE]\n\n"));
  tunnel.send({ t: "end", s: open.s });
}

describe("endpoints: the control plane and the gateway", { timeout: 30_000 }, () => {
  afterEach(async () => {
    for (const t of tunnels.splice(0)) t.close();
    await settle();
    await drainAgents();
  });

  it("refuses bad specs with 422 and stores nothing", async () => {
    const { apiKey } = await signup();
    const bad = [
      { ...SPEC, replicas: { min: 3, max: 1 } },
      { ...SPEC, port: 70000 },
      { ...SPEC, port: 0 },
      { ...SPEC, readiness: { path: "health" } },
      { ...SPEC, scaling: { scaleUpWindowSeconds: 0 } },
      { ...SPEC, scaling: { scaleDownWindowSeconds: 0 } },
      { ...SPEC, regions: ["mars-1"] },
      { ...SPEC, name: "Bad Name!" },
      { ...SPEC, surprise: true },
    ];
    for (const spec of bad) await expectError(await create(apiKey, spec), 422, "invalid_endpoint");
    const list = (await (await call("/v1/endpoints", authed(apiKey))).json()) as { endpoints: unknown[] };
    expect(list.endpoints).toEqual([]);
  });

  it("answers 404 for an unknown or another account's endpoint on every route, control and data", async () => {
    const owner = await signup();
    const other = await signup();
    const res = await create(owner.apiKey, { ...SPEC, name: "owned", replicas: { min: 0, max: 1 } });
    const { id } = (await res.json()) as { id: string };
    for (const target of [id, "ep_01jv0000000000000000000000", "nonsense"]) {
      for (const path of ["", "/replicas", "/events", "/metrics"])
        await expectError(
          await call(`/v1/endpoints/${target}${path}`, authed(other.apiKey)),
          404,
          "endpoint_not_found",
        );
      await expectError(
        await call(`/v1/endpoints/${target}`, authed(other.apiKey, "DELETE")),
        404,
        "endpoint_not_found",
      );
      await expectError(
        await call(
          `/v1/endpoints/${target}`,
          jsonInit("PATCH", { replicas: { min: 0, max: 2 } }, other.apiKey),
        ),
        404,
        "endpoint_not_found",
      );
    }
    const data = await chat(other.apiKey, { model: id, messages: [] });
    expect(data.status).toBe(404);
    expect(((await data.json()) as { error: { type: string; code: string } }).error).toMatchObject({
      code: "model_not_found",
      type: "invalid_request_error",
    });
    const proxied = await call(`/v1/endpoints/${id}/proxy/health`, authed(other.apiKey));
    expect(proxied.status).toBe(404);
    const unknownModel = await chat(owner.apiKey, { model: "no-such-model", messages: [] });
    expect(unknownModel.status).toBe(404);
    const body = (await unknownModel.json()) as { error: { message: string; type: string; code: string } };
    expect(body.error.code).toBe("model_not_found");
    expect(body.error.message).toContain("no-such-model");
    expect((await chat("mrd_nope", { model: id })).status).toBe(401);
    const huge = await chat(owner.apiKey, JSON.stringify({ model: id, pad: "x".repeat(10 * 1024 * 1024) }));
    expect(huge.status).toBe(413);
  });

  it("places a replica, routes a streamed chat completion through the tunnel, and meters it", async () => {
    const { apiKey, id, tunnel } = await servedEndpoint("streamer");
    const answer = chat(apiKey, {
      model: "streamer",
      stream: true,
      messages: [{ role: "user", content: "hi" }],
    });
    await answerStream(tunnel);
    const res = await answer;
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('"content":"Hel"');
    expect(body.trimEnd().endsWith("data: [DONE]")).toBe(true);
    const metrics = (await (await call(`/v1/endpoints/${id}/metrics`, authed(apiKey))).json()) as {
      requests: number;
      errors: number;
      tokens: { prompt: number; completion: number };
      timeToFirstByteMs: { p50: number | null };
    };
    expect(metrics).toMatchObject({ requests: 1, errors: 0, tokens: { prompt: 5, completion: 2 } });
    expect(metrics.timeToFirstByteMs.p50).not.toBeNull();
    const models = (await (await call("/v1/models", authed(apiKey))).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toContain("streamer");
    const events = (await (await call(`/v1/endpoints/${id}/events`, authed(apiKey))).json()) as {
      events: { type: string; message: string }[];
    };
    expect(events.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["created", "scaled", "replica_started", "replica_ready"]),
    );
    expect(events.events.find((e) => e.type === "scaled")?.message).toContain("below the minimum");
  });

  it("passes raw HTTP through /proxy/*, and honours keys scoped to one endpoint, revoked at once", async () => {
    const { apiKey, id, tunnel } = await servedEndpoint("proxied");
    const scoped = async (scope: string): Promise<{ id: string; apiKey: string }> =>
      (await call("/v1/account/keys", jsonInit("POST", { scopes: [scope] }, apiKey))).json() as Promise<{
        id: string;
        apiKey: string;
      }>;
    const mine = await scoped(`endpoint:${id}`);
    const elsewhere = await scoped("endpoint:ep_01jv0000000000000000000000");
    const forbidden = await call(`/v1/endpoints/${id}/proxy/health`, authed(elsewhere.apiKey));
    expect(forbidden.status).toBe(403);

    const answer = call(`/v1/endpoints/${id}/proxy/items/7?full=1`, {
      method: "PUT",
      headers: { authorization: `Bearer ${mine.apiKey}`, "x-custom": "yes" },
      body: "payload",
    });
    const { frame: open } = await tunnel.frame("open");
    expect(open).toMatchObject({ method: "PUT", path: "/items/7?full=1" });
    expect(open.headers).toContainEqual(["x-custom", "yes"]);
    expect(new TextDecoder().decode(await tunnel.body(open.s))).toBe("payload");
    tunnel.send({ t: "head", s: open.s, status: 201, headers: [["x-served-by", "replica"]] });
    tunnel.sendData(open.s, text("created"));
    tunnel.send({ t: "end", s: open.s });
    const res = await answer;
    expect(res.status).toBe(201);
    expect(res.headers.get("x-served-by")).toBe("replica");
    expect(await res.text()).toBe("created");

    // A scoped key may read its endpoint but not manage it.
    expect((await call(`/v1/endpoints/${id}`, authed(mine.apiKey, "DELETE"))).status).toBe(403);
    expect((await call(`/v1/account/keys/${mine.id}`, authed(apiKey, "DELETE"))).status).toBe(200);
    expect((await call(`/v1/endpoints/${id}/proxy/health`, authed(mine.apiKey))).status).toBe(401);
  });

  it("scales with PATCH, and DELETE stops the replicas and frees the name", async () => {
    const { apiKey, id } = await servedEndpoint("scaled");
    const patched = await call(
      `/v1/endpoints/${id}`,
      jsonInit("PATCH", { replicas: { min: 0, max: 1 }, scaling: { idleSecondsToZero: 1 } }, apiKey),
    );
    expect(patched.status).toBe(200);
    await expectError(
      await call(`/v1/endpoints/${id}`, jsonInit("PATCH", { replicas: { min: 2, max: 1 } }, apiKey)),
      422,
      "invalid_endpoint",
    );
    const deleted = await call(`/v1/endpoints/${id}`, authed(apiKey, "DELETE"));
    expect(((await deleted.json()) as { status: string }).status).toBe("deleted");
    const replicas = await call(`/v1/endpoints/${id}/replicas`, authed(apiKey));
    expect(replicas.status).toBe(404);
    expect((await chat(apiKey, { model: "scaled" })).status).toBe(404);
    expect((await create(apiKey, { ...SPEC, name: "scaled", replicas: { min: 0, max: 1 } })).status).toBe(
      201,
    );
  });
});
