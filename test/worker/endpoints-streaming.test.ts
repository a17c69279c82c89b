import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Assignment } from "../../src/shared/agent-protocol.js";
import type { OpenFrame } from "../../src/shared/endpoints/tunnel-protocol.js";
import { settle, TunnelEnd } from "./endpoints-support.js";
import { authed, call, drainAgents, hardware, jsonInit, signup, TestAgent } from "./support.js";

// The whole gateway (the Worker, the endpoint's copy or its object, the region's object, the
// tunnel) hands each chunk of a streamed answer to the caller as the replica sends it: the caller
// reads the first event while the replica has sent nothing more, not even its end. A gateway that
// buffered would hold that read until the end, and the bounded wait below would fail naming it.

const tunnels: TunnelEnd[] = [];
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const decoder = new TextDecoder();
/** Generous: a loaded CI machine; a buffering gateway never answers within it. */
const WAIT_MS = 60_000;

async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${WAIT_MS} ms waiting for ${what}`)), WAIT_MS);
  });
  try {
    return await Promise.race([promise, bound]);
  } finally {
    clearTimeout(timer);
  }
}

async function servingReplica(endpointId: string): Promise<{ tunnel: TunnelEnd; a: Assignment }> {
  const agent = new TestAgent();
  await agent.register(hardware([], 1, 1024), { region: "us-east" });
  for (let i = 0; i < 200; i++) {
    const a = (await agent.poll()).assignments.find((x) => x.service?.endpointId === endpointId);
    if (a) {
      await agent.start(a);
      const tunnel = await TunnelEnd.open(agent);
      tunnels.push(tunnel);
      tunnel.ready(a);
      return { tunnel, a };
    }
    await settle(50);
  }
  throw new Error(`no replica of ${endpointId} was assigned`);
}

function streamingChat(apiKey: string, model: string): Promise<Response> {
  return call("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
    body: JSON.stringify({ model, stream: true, messages: [{ role: "user", content: "hi" }] }),
  });
}

describe("endpoints: the gateway streams without buffering", { timeout: 180_000 }, () => {
  afterEach(async () => {
    for (const t of tunnels.splice(0)) t.close();
    await settle();
    await drainAgents();
  });

  it("delivers each event to the caller before the replica sends the next, on every request", async () => {
    const { apiKey } = await signup();
    const created = await call(
      "/v1/endpoints",
      jsonInit(
        "POST",
        {
          name: "streamer",
          image: "meridian/llm:test",
          port: 8080,
          readiness: { path: "/health" },
          resources: { cpus: 1, memoryGb: 1 },
          regions: ["us-east"],
          replicas: { min: 1, max: 1 },
        },
        apiKey,
      ),
    );
    expect(created.status).toBe(201);
    const { id } = (await created.json()) as { id: string };
    await runDurableObjectAlarm(env.ENDPOINT.get(env.ENDPOINT.idFromName(id)));
    const { tunnel } = await servingReplica(id);
    for (let i = 0; i < 200; i++) {
      const res = await call(`/v1/endpoints/${id}/replicas`, authed(apiKey));
      const { replicas } = (await res.json()) as { replicas: { state: string }[] };
      if (replicas.some((r) => r.state === "ready")) break;
      await settle(50);
    }

    // Twice: the first request may go through the endpoint's object, the next from the Worker's copy.
    for (let round = 0; round < 2; round++) {
      const answer = streamingChat(apiKey, "streamer");
      const { frame: open } = await tunnel.next(
        (r): r is { kind: "frame"; frame: OpenFrame } => r.kind === "frame" && r.frame.t === "open",
        WAIT_MS,
      );
      await tunnel.body(open.s);
      tunnel.send({ t: "head", s: open.s, status: 200, headers: [["content-type", "text/event-stream"]] });
      tunnel.sendData(open.s, text(`data: {"n":${round},"part":"first"}\n\n`));
      const res = await within("the response head", answer);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      if (!res.body) throw new Error("no body");
      const reader = res.body.getReader();
      // Nothing more was sent: this read resolves only if the first event was handed on alone.
      const first = await within("the first event, before the replica sent more", reader.read());
      expect(first.done).toBe(false);
      expect(decoder.decode(first.value)).toBe(`data: {"n":${round},"part":"first"}\n\n`);

      tunnel.sendData(open.s, text("data: [DONE]\n\n"));
      tunnel.send({ t: "end", s: open.s });
      let rest = "";
      for (;;) {
        const { done, value } = await within("the rest of the stream", reader.read());
        if (done) break;
        rest += decoder.decode(value, { stream: true });
      }
      expect(rest).toBe("data: [DONE]\n\n");
    }
  });
});
