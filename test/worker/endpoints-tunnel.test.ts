import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TUNNEL_HEADERS } from "../../src/durable/endpoints/tunnel-headers.js";
import type { Assignment } from "../../src/shared/agent-protocol.js";
import { chunkReader } from "../../src/shared/endpoints/chunk-reader.js";
import {
  fromBase64,
  type OpenFrame,
  STREAM_WINDOW_BYTES,
  toBase64,
} from "../../src/shared/endpoints/tunnel-protocol.js";
import { newId } from "../../src/shared/ids.js";
import { JobSpec } from "../../src/shared/job-spec.js";
import { settle, TunnelEnd, until } from "./endpoints-support.js";
import { drainAgents, hardware, regionObject, signup, TestAgent } from "./support.js";

/** Each test serves its own endpoint, so replicas left by earlier tests never take its traffic. */
let ENDPOINT = newId("ep", Date.now());

/** A node serving one replica of ENDPOINT, its tunnel open and the replica reported ready. */
async function servingNode(
  accountId: string,
): Promise<{ agent: TestAgent; tunnel: TunnelEnd; a: Assignment }> {
  const agent = new TestAgent();
  await agent.register(hardware([], 2, 4096));
  const submitted = await regionObject().submit({
    accountId,
    spec: JobSpec.parse({
      name: "replica",
      image: "meridian/busybox:test",
      resources: { cpus: 2, memoryGb: 4 },
    }),
    idempotencyKey: undefined,
    service: { endpointId: ENDPOINT, port: 8080, readiness: { path: "/health" } as never },
  });
  if (!submitted.ok) throw new Error("the replica was not submitted");
  jobs.push(submitted.value.jobId);
  // Earlier tests' replicas, returned by their drained nodes, may be offered too: take this one's.
  const a = (await agent.poll()).assignments.find((x) => x.jobId === submitted.value.jobId);
  if (!a) throw new Error("no assignment");
  await agent.start(a);
  const tunnel = await TunnelEnd.open(agent);
  tunnel.ready(a);
  await replicaIs(a.attemptId, "ready");
  return { agent, tunnel, a };
}

/** Waits until the region's board shows the replica in this state (frames arrive asynchronously). */
async function replicaIs(attemptId: string, state: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const replicas = await regionObject().endpointReplicas(ENDPOINT);
    if (replicas.ok && replicas.value.find((r) => r.attemptId === attemptId)?.state === state) return;
    await settle(50);
  }
  throw new Error(`replica ${attemptId} never became ${state}`);
}

function forward(
  init: { method?: string; body?: BodyInit; path?: string; affinity?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {
    [TUNNEL_HEADERS.endpoint]: ENDPOINT,
    [TUNNEL_HEADERS.path]: init.path ?? "/v1/chat/completions",
    "content-type": "application/json",
  };
  if (init.affinity) headers[TUNNEL_HEADERS.affinity] = init.affinity;
  return regionObject().fetch("https://region/tunnel", {
    method: init.method ?? "POST",
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
}

/** The first `open` frame either tunnel receives, taken from it (nothing left waiting on the other). */
async function firstOpen(ends: TunnelEnd[]): Promise<{ t: TunnelEnd; open: OpenFrame }> {
  for (let i = 0; i < 100; i++) {
    for (const t of ends) {
      const at = t.received.findIndex((r) => r.kind === "frame" && r.frame.t === "open");
      const found = at >= 0 ? t.received.splice(at, 1)[0] : undefined;
      if (found?.kind === "frame" && found.frame.t === "open") return { t, open: found.frame };
    }
    await settle(50);
  }
  throw new Error("no tunnel received an open frame");
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const tunnels: TunnelEnd[] = [];
const jobs: string[] = [];

describe("the region side of the tunnel", { timeout: 20_000 }, () => {
  beforeEach(() => {
    ENDPOINT = newId("ep", Date.now());
  });
  afterEach(async () => {
    for (const t of tunnels.splice(0)) t.close();
    await settle();
    for (const job of jobs.splice(0)) await regionObject().cancel(job);
    await drainAgents();
  });

  it("carries a request to the replica and streams its answer back, with the assignment's service", async () => {
    const { id } = await signup();
    const { tunnel, a } = await servingNode(id);
    tunnels.push(tunnel);
    expect(a.service).toMatchObject({ endpointId: ENDPOINT, port: 8080 });
    const answer = forward({ body: JSON.stringify({ model: "m", prompt: "hi" }) });
    const { frame: open } = await tunnel.frame("open");
    expect(open).toMatchObject({
      attemptId: a.attemptId,
      method: "POST",
      path: "/v1/chat/completions",
      body: true,
    });
    expect(open.headers).toContainEqual(["content-type", "application/json"]);
    expect(open.headers.some(([name]) => name.startsWith("x-meridian-tunnel-"))).toBe(false);
    expect(new TextDecoder().decode(await tunnel.body(open.s))).toBe('{"model":"m","prompt":"hi"}');
    tunnel.send({ t: "head", s: open.s, status: 200, headers: [["content-type", "text/event-stream"]] });
    tunnel.sendData(open.s, text("data: one\n\n"));
    tunnel.sendData(open.s, text("data: [DONE]\n\n"));
    tunnel.send({ t: "end", s: open.s });
    const res = await answer;
    expect(res.status).toBe(200);
    expect(res.headers.get(TUNNEL_HEADERS.replica)).toBe(a.attemptId);
    expect(await res.text()).toBe("data: one\n\ndata: [DONE]\n\n");
  });

  it("after the agent's hello, carries a small request whole in open and reads an answer whole in head", async () => {
    const { id } = await signup();
    const { tunnel } = await servingNode(id);
    tunnels.push(tunnel);
    tunnel.send({ t: "hello", inline: true });
    await tunnel.flushed();
    await settle();
    const answer = forward({ body: JSON.stringify({ model: "m", prompt: "hi" }) });
    const { frame: open } = await tunnel.frame("open");
    expect(open).toMatchObject({ body: true, inline: true });
    expect(new TextDecoder().decode(fromBase64(open.data ?? ""))).toBe('{"model":"m","prompt":"hi"}');
    const reply = '{"object":"text_completion","choices":[{"text":"ok"}]}';
    tunnel.send({
      t: "head",
      s: open.s,
      status: 200,
      headers: [["content-type", "application/json"]],
      data: toBase64(text(reply)),
      end: true,
    });
    const res = await answer;
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(reply);
    // Neither data frames nor an `end` followed the inline open, and the stream is over.
    await settle();
    expect(tunnel.received.some((r) => r.kind === "data" || ("s" in r.frame && r.frame.s === open.s))).toBe(
      false,
    );
    expect(res.headers.get("server-timing")).toMatch(/tunnel;dur=/);
  });

  it("sends a large body within the agent's credit and grants credit only as the caller reads", async () => {
    const { id } = await signup();
    const { tunnel } = await servingNode(id);
    tunnels.push(tunnel);
    const upload = new Uint8Array(STREAM_WINDOW_BYTES * 2 + 123).fill(7);
    const answer = forward({ body: upload });
    const { frame: open } = await tunnel.frame("open");
    const sent = (): number =>
      tunnel.received
        .filter((r) => r.kind === "data" && r.stream === open.s)
        .reduce((n, r) => n + (r.kind === "data" ? r.payload.byteLength : 0), 0);
    const credited = (): number =>
      tunnel.received
        .filter((r) => r.kind === "frame" && r.frame.t === "credit" && r.frame.s === open.s)
        .reduce((n, r) => n + (r.kind === "frame" && r.frame.t === "credit" ? r.frame.bytes : 0), 0);
    // Without credit, the region stops at one window of body: it gets there, and no further.
    await until("a window of body sent", () => sent() >= STREAM_WINDOW_BYTES);
    await settle(300);
    expect(sent()).toBe(STREAM_WINDOW_BYTES);
    expect((await tunnel.body(open.s)).byteLength).toBe(upload.byteLength);

    tunnel.send({
      t: "head",
      s: open.s,
      status: 200,
      headers: [["content-type", "application/octet-stream"]],
    });
    const chunk = new Uint8Array(64 * 1024).fill(1);
    for (let i = 0; i < STREAM_WINDOW_BYTES / chunk.byteLength; i++) tunnel.sendData(open.s, chunk);
    const res = await answer;
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    await settle(200);
    // The caller has read nothing much yet: the region has not credited the whole window back.
    expect(credited()).toBeLessThan(STREAM_WINDOW_BYTES);
    let read = 0;
    while (read < STREAM_WINDOW_BYTES) {
      const { value, done } = await reader.read();
      if (done) break;
      read += value.byteLength;
    }
    // Read, the window comes back whole (when a loaded machine lets the frames arrive), and no more.
    await until("the window credited back", () => credited() >= STREAM_WINDOW_BYTES);
    await settle(200);
    expect(credited()).toBe(STREAM_WINDOW_BYTES);
    tunnel.send({ t: "end", s: open.s });
    expect((await reader.read()).done).toBe(true);
  });

  it("hands each token of an event stream on as it comes when read in large chunks (chunk-reader)", async () => {
    const { id } = await signup();
    const { tunnel } = await servingNode(id);
    tunnels.push(tunnel);
    const answer = forward({ method: "GET", path: "/stream" });
    const { frame: open } = await tunnel.frame("open");
    tunnel.send({ t: "head", s: open.s, status: 200, headers: [["content-type", "text/event-stream"]] });
    const reader = chunkReader((await answer).body as ReadableStream<Uint8Array>);
    // Each token is sent only once the previous one was read: a reader that waited to fill its
    // 256 KiB buffer would never see the first.
    for (const token of ["data: 1\n\n", "data: 2\n\n", "data: 3\n\n"]) {
      tunnel.sendData(open.s, text(token));
      const read = await reader.read();
      expect(read.done).toBe(false);
      expect(new TextDecoder().decode(read.value)).toBe(token);
    }
    tunnel.send({ t: "end", s: open.s });
    expect((await reader.read()).done).toBe(true);
  });

  it("resets a stream whose agent sends past its window", async () => {
    const { id } = await signup();
    const { tunnel } = await servingNode(id);
    tunnels.push(tunnel);
    const answer = forward({ method: "GET", path: "/big" });
    const { frame: open } = await tunnel.frame("open");
    tunnel.send({ t: "head", s: open.s, status: 200, headers: [] });
    // More than the window with no credit asked for (the runtime may read some of it on its own).
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i <= (4 * STREAM_WINDOW_BYTES) / chunk.byteLength; i++) tunnel.sendData(open.s, chunk);
    const { frame: reset } = await tunnel.frame("reset", open.s);
    expect(reset.reason).toBe("protocol");
    const res = await answer;
    await expect(res.text()).rejects.toThrow();
  });

  it("tells the agent when the caller goes away", async () => {
    const { id } = await signup();
    const { tunnel } = await servingNode(id);
    tunnels.push(tunnel);
    const answer = forward({ method: "GET", path: "/stream" });
    const { frame: open } = await tunnel.frame("open");
    tunnel.send({ t: "head", s: open.s, status: 200, headers: [["content-type", "text/event-stream"]] });
    tunnel.sendData(open.s, text("data: 1\n\n"));
    const reader = ((await answer).body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    await reader.cancel();
    // The cancellation reaches the region with its next write, as the engine's next token would.
    const tokens = setInterval(() => tunnel.sendData(open.s, text("data: more\n\n")), 50);
    const { frame: reset } = await tunnel.frame("reset", open.s).finally(() => clearInterval(tokens));
    expect(reset.reason).toBe("cancelled");
  });

  it("ends an event stream with an error event when the agent resets it mid-response", async () => {
    const { id } = await signup();
    const { tunnel } = await servingNode(id);
    tunnels.push(tunnel);
    const answer = forward({ method: "GET", path: "/stream" });
    const { frame: open } = await tunnel.frame("open");
    tunnel.send({ t: "head", s: open.s, status: 200, headers: [["content-type", "text/event-stream"]] });
    tunnel.sendData(open.s, text("data: 1\n\n"));
    tunnel.send({ t: "reset", s: open.s, reason: "replica_died", message: "container exited" });
    const body = await (await answer).text();
    expect(body.startsWith("data: 1\n\n")).toBe(true);
    const event = JSON.parse(body.slice("data: 1\n\ndata: ".length)) as {
      error: { code: string; type: string };
    };
    expect(event.error).toMatchObject({ code: "replica_died", type: "server_error" });
  });

  it("ends the caller's stream when the node's socket closes mid-response, and routes no more to it", async () => {
    const { id } = await signup();
    const { tunnel, a } = await servingNode(id);
    const answer = forward({ method: "GET", path: "/plain" });
    const { frame: open } = await tunnel.frame("open");
    tunnel.send({ t: "head", s: open.s, status: 200, headers: [["content-type", "text/plain"]] });
    tunnel.sendData(open.s, text("partial"));
    const res = await answer;
    tunnel.close();
    await expect(res.text()).rejects.toThrow();
    await replicaIs(a.attemptId, "unready");
    const after = await forward({ method: "GET", path: "/plain" });
    expect(after.status).toBe(503);
    expect(after.headers.get(TUNNEL_HEADERS.outcome)).toBe("unreachable");
  });

  it("chooses the ready replica with the fewest in flight, keeps an affinity key on one, and skips a replica its agent refuses", async () => {
    const { id } = await signup();
    const first = await servingNode(id);
    const second = await servingNode(id);
    tunnels.push(first.tunnel, second.tunnel);
    const byAttempt = new Map([
      [first.a.attemptId, first.tunnel],
      [second.a.attemptId, second.tunnel],
    ]);
    // Two held requests go to two replicas.
    const one = forward({ method: "GET", path: "/a" });
    const two = forward({ method: "GET", path: "/b" });
    const opened = await Promise.all([first.tunnel.frame("open"), second.tunnel.frame("open")]);
    expect(new Set(opened.map((o) => o.frame.path))).toEqual(new Set(["/a", "/b"]));
    for (const [i, o] of opened.entries()) {
      const t = i === 0 ? first.tunnel : second.tunnel;
      t.send({ t: "head", s: o.frame.s, status: 200, headers: [] });
      t.send({ t: "end", s: o.frame.s });
    }
    await Promise.all([(await one).text(), (await two).text()]);

    // An affinity key lands on the same replica every time.
    const served = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const res = forward({ method: "GET", path: "/s", affinity: "session-42" });
      const target = await firstOpen([...byAttempt.values()]);
      target.t.send({ t: "head", s: target.open.s, status: 204, headers: [] });
      target.t.send({ t: "end", s: target.open.s });
      served.add((await res).headers.get(TUNNEL_HEADERS.replica) ?? "");
    }
    expect(served.size).toBe(1);

    // The chosen replica's agent says it runs no such replica: the request moves to the other one.
    const [keyed] = [...served];
    const refusing = byAttempt.get(keyed ?? "");
    const other = [...byAttempt.entries()].find(([attempt]) => attempt !== keyed);
    if (!refusing || !other) throw new Error("two replicas expected");
    const moved = forward({ method: "GET", path: "/m", affinity: "session-42" });
    const { frame: refused } = await refusing.frame("open");
    refusing.send({ t: "reset", s: refused.s, reason: "unknown_replica", message: "" });
    const { frame: taken } = await other[1].frame("open");
    other[1].send({ t: "head", s: taken.s, status: 200, headers: [] });
    other[1].send({ t: "end", s: taken.s });
    expect((await moved).headers.get(TUNNEL_HEADERS.replica)).toBe(other[0]);
  });

  it("gives no traffic to a replica that is not ready", async () => {
    const { id } = await signup();
    const { tunnel, a } = await servingNode(id);
    tunnels.push(tunnel);
    tunnel.ready(a, "unready");
    await replicaIs(a.attemptId, "unready");
    expect((await forward({ method: "GET", path: "/x" })).status).toBe(503);
  });
});
