import { afterEach, describe, expect, it } from "vitest";
import type { Assignment, PollResponse } from "../../src/shared/agent-protocol.js";
import {
  authed,
  call,
  drainAgents,
  h100Numbered,
  hardware,
  jobOf,
  ownedAgent,
  signup,
  submit,
  type TestAgent,
} from "./support.js";

// GPUs no other test file's nodes hold (storage is per file, but the numbers keep them apart).
const spec = {
  name: "handed-back",
  image: "meridian/busybox:test",
  command: ["sh", "-c", "echo work"],
  region: "eu-west",
  resources: { gpus: 1, gpuModels: ["H100-SXM"] },
  maxPricePerGpuHour: "2.00",
  timeoutSeconds: 600,
};

const ENGINE_DOWN =
  "the node's container engine at unix:///var/run/docker.sock does not answer, so the attempt was not started: handed back to be placed elsewhere";

const submitted: { apiKey: string; id: string }[] = [];

/** Storage is shared by this file's tests: a job left queued would be placed on a later test's node. */
async function cleanUp(): Promise<void> {
  for (const { apiKey, id } of submitted.splice(0))
    await call(`/v1/jobs/${id}/cancel`, authed(apiKey, "POST"));
  await drainAgents();
}

async function submitted201(apiKey: string): Promise<string> {
  const res = await submit(apiKey, spec);
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  submitted.push({ apiKey, id });
  return id;
}

/** A poll saying whether the node takes work (false: its engine does not answer, say). */
async function pollTaking(agent: TestAgent, acceptingWork: boolean): Promise<PollResponse> {
  const res = await agent.send("/v1/agent/poll", { running: [], acceptingWork, waitMs: 0 });
  expect(res.status).toBe(200);
  return (await res.json()) as PollResponse;
}

async function assignmentOf(agent: TestAgent, jobId: string): Promise<Assignment> {
  const a = (await pollTaking(agent, true)).assignments.find((x) => x.jobId === jobId);
  if (!a) throw new Error(`${jobId} was not placed on ${agent.nodeId}`);
  return a;
}

async function handBack(agent: TestAgent, a: Assignment, errorKind: string, message: string): Promise<void> {
  const res = await agent.report(a.attemptId, {
    type: "exited",
    fencing: a.fencing,
    at: Date.now(),
    exitCode: null,
    reason: "error",
    errorKind,
    message,
  });
  expect(res.status).toBe(200);
}

async function reasons(apiKey: string, jobId: string): Promise<string[]> {
  const res = await call(`/v1/jobs/${jobId}/events`, authed(apiKey));
  const { events } = (await res.json()) as { events: { reason: string | null }[] };
  return events.map((e) => e.reason ?? "");
}

describe("an attempt its node handed back unstarted", { timeout: 30_000 }, () => {
  afterEach(cleanUp);

  it("goes back to its only node once that node takes work again, when the engine had not answered", async () => {
    // As a current agent says it (`unavailable`), and as an older one did (`host_policy`, its words).
    for (const [index, errorKind] of (["unavailable", "host_policy"] as const).entries()) {
      const user = await signup();
      const { agent } = await ownedAgent(hardware([h100Numbered(8901 + index)]));
      const id = await submitted201(user.apiKey);
      const first = await assignmentOf(agent, id);
      await handBack(agent, first, errorKind, ENGINE_DOWN);

      // The event gives the node's own reason, not a host policy's.
      const trail = await reasons(user.apiKey, id);
      expect(trail).toContainEqual(expect.stringContaining(`node ${agent.nodeId} handed the attempt back`));
      expect(trail).toContainEqual(
        expect.stringContaining("does not answer, so the attempt was not started"),
      );
      expect(trail.some((r) => r.includes("host policy"))).toBe(false);
      // While the engine is down the node says it takes no work: the job waits, queued, not failed.
      expect((await pollTaking(agent, false)).assignments).toHaveLength(0);
      expect(await jobOf(user.apiKey, id)).toMatchObject({ status: "queued", attempts: 0 });

      // The engine answers again: the same node is handed the job, as its first attempt.
      const again = await assignmentOf(agent, id);
      expect(again.attemptId).not.toBe(first.attemptId);
      expect(again.fencing).toBeGreaterThan(first.fencing);
      expect(again.env.MERIDIAN_ATTEMPT).toBe("1");
      expect(await jobOf(user.apiKey, id)).toMatchObject({ status: "assigned", nodeId: agent.nodeId });
      await agent.start(again);
      expect((await agent.exit(again, 0)).status).toBe(200);
      expect(await jobOf(user.apiKey, id)).toMatchObject({ status: "succeeded", attempts: 1 });
      await cleanUp();
    }
  });

  it("goes to another node first while one can take it, when its node could not take it now", async () => {
    const user = await signup();
    const blinked = await ownedAgent(hardware([h100Numbered(8903)]));
    const id = await submitted201(user.apiKey);
    const first = await assignmentOf(blinked.agent, id);
    const other = await ownedAgent(hardware([h100Numbered(8904)]));
    await handBack(blinked.agent, first, "unavailable", ENGINE_DOWN);
    expect(await jobOf(user.apiKey, id)).toMatchObject({ status: "assigned", nodeId: other.agent.nodeId });
    expect((await pollTaking(blinked.agent, true)).assignments.some((x) => x.jobId === id)).toBe(false);
  });

  it("is kept off the node for good when its host policy refuses the image, saying so", async () => {
    const user = await signup();
    const { agent } = await ownedAgent(hardware([h100Numbered(8905)]));
    const id = await submitted201(user.apiKey);
    const first = await assignmentOf(agent, id);
    await handBack(agent, first, "host_policy", "host policy refused the image: denied by **:latest");
    expect(await reasons(user.apiKey, id)).toContainEqual(
      `node ${agent.nodeId} handed the attempt back unstarted (host policy refused the image: denied by **:latest); kept off it, placing the job elsewhere`,
    );
    // The node takes work, but not this job: it is the only node, so the job waits, saying why.
    expect((await pollTaking(agent, false)).assignments).toHaveLength(0);
    expect((await pollTaking(agent, true)).assignments.some((x) => x.jobId === id)).toBe(false);
    const res = await call(`/v1/jobs/${id}`, authed(user.apiKey));
    const job = (await res.json()) as { status: string; explanation?: { message: string } };
    expect(job.status).toBe("queued");
    expect(job.explanation?.message).toContain("excluded");
  });
});
