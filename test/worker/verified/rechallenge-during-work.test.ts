import { afterEach, describe, expect, it } from "vitest";
import {
  authed,
  call,
  drainAgents,
  H100,
  hardware,
  jobOf,
  ownedAgent,
  signup,
  submit,
  type TestAgent,
} from "../support.js";
import {
  answerHonestly,
  leaseOf,
  plannedChallengeAt,
  reachPlannedChallenge,
  smallChallengesFor,
  sweepLater,
} from "./rechallenge-support.js";

/**
 * Issue 14 item 2: re-challenges arrive at unpredictable times, including while the node runs
 * work. In the real Region object with verified GPUs required, a signed agent passes its first
 * challenge, takes a GPU attempt, and is re-challenged while the attempt runs: the challenge comes
 * in the poll that heartbeats the attempt, and the attempt is not stopped, moved or re-leased. A
 * re-challenge missed during work rejects the node (no new work, quarantined) and leaves the
 * running attempt to finish under its lease (docs/VERIFICATION.md, "Re-challenges during work").
 */

const MINUTE = 60_000;

function gpu(tail: number) {
  return { ...H100, uuid: `GPU-${String(tail).padStart(8, "0")}-8888-0000-0000-000000000000` };
}

const gpuJob = {
  image: "meridian/busybox:test",
  command: ["sleep", "1800"],
  region: "eu-west",
  resources: { gpus: 1 },
  maxPricePerGpuHour: "2.00",
  timeoutSeconds: 1800,
};

interface Running {
  attemptId: string;
  fencing: number;
  jobId: string;
}

/** A verified one-H100 node running one attempt of a job of `apiKey`'s. */
async function verifiedNodeAtWork(
  apiKey: string,
  tail: number,
): Promise<{ agent: TestAgent; owner: string; work: Running }> {
  const { agent, apiKey: owner } = await ownedAgent(hardware([gpu(tail)]));
  await smallChallengesFor(agent.nodeId);
  const [first] = (await agent.poll()).challenges;
  if (!first) throw new Error("no first challenge");
  const passed = await answerHonestly(agent, first);
  expect(passed.outcome, JSON.stringify(passed.reasons)).toBe("verified");

  const res = await submit(apiKey, { ...gpuJob, name: `on-${tail}` });
  expect(res.status).toBe(201);
  const jobId = ((await res.json()) as { id: string }).id;
  const [assignment] = (await agent.poll()).assignments;
  if (!assignment) throw new Error("the verified node got no work");
  expect(assignment.jobId).toBe(jobId);
  expect((await agent.start(assignment)).status).toBe(200);
  expect((await jobOf(apiKey, jobId)).status).toBe("running");
  return { agent, owner, work: { attemptId: assignment.attemptId, fencing: assignment.fencing, jobId } };
}

interface NodeVerificationView {
  verification: {
    outcome: string;
    gpus: { open: boolean; reasons: { code: string }[] }[];
    nextChallengeAt: number | null;
  } | null;
}

async function providerView(apiKey: string, nodeId: string): Promise<NodeVerificationView> {
  const res = await call(`/v1/provider/nodes/${nodeId}`, authed(apiKey));
  expect(res.status).toBe(200);
  return (await res.json()) as NodeVerificationView;
}

/** The node's verification as GET /v1/nodes lists it; undefined when it is not listed. */
async function listedAs(apiKey: string, nodeId: string): Promise<string | undefined> {
  const res = await call("/v1/nodes", authed(apiKey));
  expect(res.status).toBe(200);
  const { nodes } = (await res.json()) as { nodes: { id: string; verification: string }[] };
  return nodes.find((n) => n.id === nodeId)?.verification;
}

describe("re-challenges while the node runs work", { timeout: 60_000 }, () => {
  afterEach(drainAgents);

  it("comes in the attempt's heartbeat poll, is answered, and the attempt runs on, its lease intact", async () => {
    const user = await signup();
    const { agent, owner, work } = await verifiedNodeAtWork(user.apiKey, 1);
    const running = [{ attemptId: work.attemptId, fencing: work.fencing }];

    // The next challenge is planned at a random time, not soon and not known to the agent.
    const planned = await plannedChallengeAt(agent.nodeId);
    expect(planned).not.toBeNull();
    expect(planned ?? 0).toBeGreaterThan(Date.now() + 10 * MINUTE);

    await reachPlannedChallenge(agent.nodeId);
    const leaseBefore = await leaseOf(work.attemptId);
    expect(leaseBefore).toBeGreaterThan(Date.now());
    const beat = await agent.poll(running);
    expect(beat.challenges).toHaveLength(1);
    expect(beat.stop).toEqual([]);
    const [again] = beat.challenges;
    if (!again) throw new Error("no re-challenge");
    expect(again.nodeId).toBe(agent.nodeId);

    // The node keeps heartbeating its attempt while it computes the challenge.
    const judgement = await answerHonestly(agent, again, async () => {
      const during = await agent.poll(running);
      expect(during.stop).toEqual([]);
      expect(during.assignments).toEqual([]);
    });
    expect(judgement.outcome, JSON.stringify(judgement.reasons)).toBe("verified");

    // Same attempt, same fencing number, its lease renewed by the heartbeats, not reissued.
    expect(await leaseOf(work.attemptId)).toBeGreaterThanOrEqual(leaseBefore ?? 0);
    const after = await agent.poll(running);
    expect(after.stop).toEqual([]);
    expect(await jobOf(user.apiKey, work.jobId)).toMatchObject({
      status: "running",
      attempts: 1,
      nodeId: agent.nodeId,
    });
    const view = await providerView(owner, agent.nodeId);
    expect(view.verification?.outcome).toBe("verified");
    expect(view.verification?.nextChallengeAt ?? 0).toBeGreaterThan(Date.now() + 10 * MINUTE);

    expect((await agent.exit(work, 0)).status).toBe(200);
    expect(await jobOf(user.apiKey, work.jobId)).toMatchObject({ status: "succeeded", attempts: 1 });
  });

  it("missed during work rejects the node for new work and lets the running attempt finish", async () => {
    const user = await signup();
    const { agent, owner, work } = await verifiedNodeAtWork(user.apiKey, 2);
    const running = [{ attemptId: work.attemptId, fencing: work.fencing }];

    expect(await listedAs(user.apiKey, agent.nodeId)).toBe("verified");
    await reachPlannedChallenge(agent.nodeId);
    const [ignored] = (await agent.poll(running)).challenges;
    expect(ignored).toBeDefined();
    // The agent never answers; the object's clock passes every window of the challenge.
    await sweepLater(30 * MINUTE);

    const view = await providerView(owner, agent.nodeId);
    expect(view.verification?.outcome).toBe("rejected");
    expect(view.verification?.gpus[0]?.reasons.map((r) => r.code)).toContain("deadline_missed");
    // Delisted: the market lists verified GPU nodes only.
    expect(await listedAs(user.apiKey, agent.nodeId)).toBeUndefined();

    // No new work: a second job waits in the queue though the node has room for it.
    const res = await submit(user.apiKey, { ...gpuJob, name: "after-the-miss", resources: { gpus: 1 } });
    const submitted = (await res.json()) as { id: string };
    expect(res.status, JSON.stringify(submitted)).toBe(201);
    const waiting = submitted.id;
    const beat = await agent.poll(running);
    expect(beat.assignments).toEqual([]);
    expect(beat.stop).toEqual([]);
    expect((await jobOf(user.apiKey, waiting)).status).toBe("queued");
    await call(`/v1/jobs/${waiting}/cancel`, authed(user.apiKey, "POST"));

    // The running attempt keeps its lease and finishes there.
    expect(await leaseOf(work.attemptId)).toBeGreaterThan(Date.now());
    expect((await agent.exit(work, 0)).status).toBe(200);
    expect(await jobOf(user.apiKey, work.jobId)).toMatchObject({
      status: "succeeded",
      attempts: 1,
      nodeId: agent.nodeId,
    });
  });
});
