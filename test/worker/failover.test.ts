import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { PollResponse } from "../../src/shared/agent-protocol.js";
import { newNonce } from "../../src/shared/agent-signature.js";
import { authed, call, drainAgents, hardware, regionObject, signup, submit, TestAgent } from "./support.js";

/** A poll held open in the Worker, under a nonce the test knows (the Region object's token for it). */
async function heldPoll(agent: TestAgent, running: { attemptId: string; fencing: number }[]) {
  const nonce = newNonce();
  const request = await agent.signedRequest("/v1/agent/poll", { running, waitMs: 20_000 }, { nonce });
  const answer = exports.default.fetch(request);
  // Until the Region object holds it.
  await new Promise((resolve) => setTimeout(resolve, 200));
  return { nonce, answer };
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
    await backdateDrop(cheap.nodeId ?? "", 5_000);
    await runDurableObjectAlarm(regionObject());
    const moved = await jobOf(apiKey, id);
    expect(moved).toMatchObject({ status: "assigned", nodeId: dear.nodeId });
    const events = await eventsOf(apiKey, id);
    expect(events.map((e) => e.reason)).toContain(
      `connection to node ${cheap.nodeId} dropped and did not return within 5 s`,
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
});
