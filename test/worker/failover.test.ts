import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { PollResponse } from "../../src/shared/agent-protocol.js";
import { newNonce } from "../../src/shared/agent-signature.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  hardware,
  regionObject,
  signup,
  submit,
  TestAgent,
} from "./support.js";

/** A poll held open in the Worker, under a nonce the test knows (the Region object's token for it). */
async function heldPoll(agent: TestAgent, running: { attemptId: string; fencing: number }[]) {
  const nonce = newNonce();
  const request = await agent.signedRequest("/v1/agent/poll", { running, waitMs: 20_000 }, { nonce });
  const answer = exports.default.fetch(request);
  // Until the Region object holds it.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { nonce, answer };
}

/** Two agent processes' sessions (agent-protocol.ts's AgentSession). */
const SESSION_A = "session-a-0123456789";
const SESSION_B = "session-b-0123456789";

/** A poll of `session` held open in the Worker, under a nonce the test knows. */
async function heldSessionPoll(agent: TestAgent, session: string) {
  const nonce = newNonce();
  const request = await agent.signedRequest(
    "/v1/agent/poll",
    { running: [], waitMs: 20_000, session },
    { nonce },
  );
  const answer = exports.default.fetch(request);
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { nonce, answer };
}

/** Whether the promise is still pending after `ms`. */
async function pending(promise: Promise<unknown>, ms = 300): Promise<boolean> {
  const marker = Symbol("pending");
  const winner = await Promise.race([
    promise,
    new Promise((resolve) => setTimeout(() => resolve(marker), ms)),
  ]);
  return winner === marker;
}

/** Moves a node's dropped connection back by `ms`, as if that much time had passed. */
async function backdateDrop(nodeId: string, ms: number): Promise<void> {
  await runInDurableObject(regionObject(), (instance) => {
    const presence = (
      instance as unknown as {
        state: {
          nodeBook: {
            presence: { nodes: Map<string, { droppedAt: number | null; quietSince: number | null }> };
          };
        };
      }
    ).state.nodeBook.presence.nodes.get(nodeId);
    if (presence?.droppedAt == null) throw new Error(`${nodeId} has no dropped connection`);
    presence.droppedAt -= ms;
    if (presence.quietSince !== null) presence.quietSince -= ms;
  });
}

async function jobOf(
  apiKey: string,
  id: string,
): Promise<{ status: string; nodeId: string | null; attemptId: string | null }> {
  return (await call(`/v1/jobs/${id}`, authed(apiKey))).json();
}

async function eventsOf(apiKey: string, id: string): Promise<{ status: string; reason: string | null }[]> {
  return (
    (await (await call(`/v1/jobs/${id}/events`, authed(apiKey))).json()) as {
      events: { status: string; reason: string | null }[];
    }
  ).events;
}

describe("failover from a dropped connection", () => {
  afterEach(drainAgents);

  it("places the job elsewhere as soon as the reconnect window passes, refusing what the old node reports after", async () => {
    const { apiKey } = await signup();
    // CPU nodes: a GPU node would be sent a verification challenge with every poll until it answered.
    const cheap = new TestAgent();
    await cheap.register(hardware([]));
    const res = await submit(apiKey, {
      name: "failover",
      image: "meridian/busybox:test",
      resources: { cpus: 1, memoryGb: 1 },
      timeoutSeconds: 600,
    });
    const dear = new TestAgent();
    await dear.register(hardware([]));
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const [a] = (await cheap.poll()).assignments;
    if (!a) throw new Error("the cheap node got no assignment");
    await cheap.start(a);
    const running = [{ attemptId: a.attemptId, fencing: a.fencing }];
    // The dear node waits in a held poll, as an idle agent does.
    const dearPoll = await heldPoll(dear, []);

    // The cheap node's held poll drops (its agent died): nothing is lost during the window.
    const held = await heldPoll(cheap, running);
    const dropped = await regionObject().pollDropped(cheap.nodeId ?? "", held.nonce);
    expect(dropped).toEqual({ ok: true, value: { dropped: true } });
    expect(((await (await held.answer).json()) as PollResponse).assignments).toEqual([]);
    await runDurableObjectAlarm(regionObject());
    expect((await jobOf(apiKey, id)).status).toBe("running");

    // The window passes: the attempt is lost, and the job placed on the other node at once.
    await backdateDrop(cheap.nodeId ?? "", 3_000);
    await runDurableObjectAlarm(regionObject());
    const moved = await jobOf(apiKey, id);
    expect(moved).toMatchObject({ status: "assigned", nodeId: dear.nodeId });
    const events = await eventsOf(apiKey, id);
    expect(events.map((e) => e.reason)).toContain(
      `connection to node ${cheap.nodeId} dropped and did not return within 3 s`,
    );
    expect(events.map((e) => e.reason)).toContain("placing the job again after attempt 1 was lost");
    // The waiting node was woken with the new assignment.
    const offered = (await (await dearPoll.answer).json()) as PollResponse;
    expect(offered.assignments.map((x) => x.jobId)).toEqual([id]);

    // The old node comes back: its reports for the lost attempt are refused and change nothing …
    const late = await cheap.exit(a, 0);
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe("stale_lease");
    expect((await jobOf(apiKey, id)).status).toBe("assigned");
    // … and it is told to stop the attempt.
    expect((await cheap.poll(running)).stop).toEqual([{ attemptId: a.attemptId, reason: "unknown_attempt" }]);
    // Storage is shared by this file's tests: the job leaves with this one.
    expect((await call(`/v1/jobs/${id}/cancel`, authed(apiKey, "POST"))).status).toBe(200);
  });

  it("refuses the older of two polls held for one node, saying why", async () => {
    const agent = new TestAgent();
    await agent.register(hardware([]));
    const first = await heldPoll(agent, []);
    const second = await heldPoll(agent, []);
    const refused = await first.answer;
    expect(refused.status).toBe(409);
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("second_poller");
    expect(body.error.message).toContain("only one agent may run per node identity");
    // The newer poll is the node's: it is still held, and answers normally once dropped.
    await regionObject().pollDropped(agent.nodeId ?? "", second.nonce);
    expect((await second.answer).status).toBe(200);
  });

  it("answers a drop for a poll it no longer holds, or a node it does not know, with nothing dropped", async () => {
    const agent = new TestAgent();
    await agent.register(hardware([]));
    expect(await regionObject().pollDropped(agent.nodeId ?? "", newNonce())).toEqual({
      ok: true,
      value: { dropped: false },
    });
    expect(await regionObject().pollDropped("node_unknown", newNonce())).toEqual({
      ok: true,
      value: { dropped: false },
    });
  });

  it("refuses a second live agent on one node key outright, changing nothing, and lets the next in once the first is gone", async () => {
    const { apiKey } = await signup();
    const first = new TestAgent();
    await first.register(hardware([]), { session: SESSION_A, labels: { who: "first" } });
    // The twin: another host with a copy of the same key, and its own agent process.
    const twin = Object.assign(new TestAgent(), { secretKey: first.secretKey });
    const res = await submit(apiKey, {
      name: "held",
      image: "meridian/busybox:test",
      resources: { cpus: 1, memoryGb: 1 },
      timeoutSeconds: 600,
    });
    const { id } = (await res.json()) as { id: string };
    const [a] = (await first.poll()).assignments;
    if (!a) throw new Error("the first agent got no assignment");
    await first.start(a);
    const held = await heldSessionPoll(first, SESSION_A);

    // The twin registers: refused, and the node's record keeps the first agent's labels.
    const register = await twin.send("/v1/agent/register", {
      hardware: hardware([], 4),
      pricePerGpuHour: "2.00",
      agentVersion: "test",
      runtime: "docker",
      region: "eu-west",
      labels: { who: "twin" },
      session: SESSION_B,
    });
    await expectError(register.clone(), 409, "second_poller");
    const refusal = ((await register.json()) as { error: { message: string } }).error.message;
    expect(refusal).toContain("only one agent may run per node identity");
    const nodes = (await (await call("/v1/nodes", authed(apiKey))).json()) as {
      nodes: { id: string; labels: Record<string, string> }[];
    };
    expect(nodes.nodes.find((n) => n.id === first.nodeId)?.labels).toEqual({ who: "first" });

    // Its poll and its reclaim (which would give up the first agent's running attempt) are refused too.
    twin.nodeId = first.nodeId;
    twin.region = first.region;
    await expectError(
      await twin.send("/v1/agent/poll", { running: [], waitMs: 0, session: SESSION_B }),
      409,
      "second_poller",
    );
    await expectError(
      await twin.send("/v1/agent/reclaim", { attempts: [], session: SESSION_B }),
      409,
      "second_poller",
    );
    expect(await jobOf(apiKey, id)).toMatchObject({
      status: "running",
      nodeId: first.nodeId,
      attemptId: a.attemptId,
    });
    // The first agent's held poll was not touched: it is still held.
    expect(await pending(held.answer)).toBe(true);

    // The first agent dies (its held poll drops): the twin is let in at once, and now holds the node …
    await regionObject().pollDropped(first.nodeId, held.nonce);
    await held.answer;
    const taken = await twin.send("/v1/agent/poll", {
      running: [{ attemptId: a.attemptId, fencing: a.fencing }],
      waitMs: 0,
      session: SESSION_B,
    });
    expect(taken.status).toBe(200);
    // … so the first agent, were it only cut off, is the one refused when it comes back.
    await expectError(
      await first.send("/v1/agent/poll", { running: [], waitMs: 0, session: SESSION_A }),
      409,
      "second_poller",
    );
    // A malformed session is bad input, not a session.
    await expectError(
      await twin.send("/v1/agent/poll", { running: [], waitMs: 0, session: "short" }),
      400,
      "invalid_request",
    );
    expect((await call(`/v1/jobs/${id}/cancel`, authed(apiKey, "POST"))).status).toBe(200);
  });

  it("quarantines a node whose connection keeps dropping and coming back, rather than chasing it", async () => {
    const { apiKey } = await signup();
    const flaky = new TestAgent();
    await flaky.register(hardware([]));
    const nodeId = flaky.nodeId;
    // Five drops in an hour, each back within the reconnect window: each return counts a flap.
    for (let i = 0; i < 5; i++) {
      const held = await heldPoll(flaky, []);
      await regionObject().pollDropped(nodeId, held.nonce);
      await held.answer;
      await flaky.poll();
    }
    const view = await regionObject().providerNode(nodeId);
    if (!view.ok) throw new Error(`providerNode refused: ${JSON.stringify(view)}`);
    expect(view.value.reputation).toMatchObject({ status: "quarantined" });
    // Quarantined, it is offered no work: a job waits rather than land on it.
    const res = await submit(apiKey, {
      name: "not-on-a-flapper",
      image: "meridian/busybox:test",
      resources: { cpus: 1, memoryGb: 1 },
    });
    const { id } = (await res.json()) as { id: string };
    expect((await flaky.poll()).assignments).toEqual([]);
    expect((await jobOf(apiKey, id)).status).toBe("queued");
    expect((await call(`/v1/jobs/${id}/cancel`, authed(apiKey, "POST"))).status).toBe(200);
  });
});
