import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Assignment } from "../../src/shared/agent-protocol.js";
import {
  authed,
  balance,
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
  name: "node-fault",
  image: "meridian/busybox:test",
  command: ["sh", "-c", "echo work"],
  region: "eu-west",
  resources: { gpus: 1, gpuModels: ["H100-SXM"] },
  maxPricePerGpuHour: "2.00",
  timeoutSeconds: 600,
};

interface Attempt {
  id: string;
  nodeId: string;
  outcome: string | null;
  charge: { chargedMicros: number } | null;
}

const submitted: { apiKey: string; id: string }[] = [];

/** Storage is shared by this file's tests: a job left queued would be placed on a later test's node. */
async function cleanUp(): Promise<void> {
  for (const { apiKey, id } of submitted.splice(0))
    await call(`/v1/jobs/${id}/cancel`, authed(apiKey, "POST"));
  await drainAgents();
}

async function attemptsOf(apiKey: string, jobId: string): Promise<Attempt[]> {
  const res = await call(`/v1/jobs/${jobId}/attempts`, authed(apiKey));
  expect(res.status).toBe(200);
  return ((await res.json()) as { attempts: Attempt[] }).attempts;
}

async function earnings(nodeId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT balance_micros AS b FROM ledger_accounts WHERE id = ?")
    .bind(`earnings:${nodeId}`)
    .first<{ b: number }>();
  return row?.b ?? 0;
}

async function submitted201(apiKey: string, body: object = spec): Promise<string> {
  const res = await submit(apiKey, body);
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  submitted.push({ apiKey, id });
  return id;
}

async function takeAndStart(agent: TestAgent, jobId: string): Promise<Assignment> {
  const a = (await agent.poll()).assignments.find((x) => x.jobId === jobId);
  if (!a) throw new Error(`${jobId} was not placed on ${agent.nodeId}`);
  await agent.start(a);
  return a;
}

/** The node's own failure, as the agent reports a container engine that stopped under the job. */
async function engineDown(agent: TestAgent, a: Assignment): Promise<void> {
  const res = await agent.report(a.attemptId, {
    type: "exited",
    fencing: a.fencing,
    at: Date.now(),
    exitCode: null,
    reason: "error",
    errorKind: "runtime",
    message: "the node's container engine stopped while the container ran (exit 137)",
  });
  expect(res.status).toBe(200);
}

describe("an attempt its node failed by its own fault", { timeout: 30_000 }, () => {
  afterEach(cleanUp);

  it("is placed on the other node, which runs it to success; the faulted attempt costs and pays nothing", async () => {
    const user = await signup();
    const start = (await balance(user.apiKey)).availableMicros;
    const first = await ownedAgent(hardware([h100Numbered(8801)]));
    const id = await submitted201(user.apiKey);
    const a = await takeAndStart(first.agent, id);
    const second = await ownedAgent(hardware([h100Numbered(8802)]));
    await engineDown(first.agent, a);

    expect(await jobOf(user.apiKey, id)).toMatchObject({ status: "assigned", nodeId: second.agent.nodeId });
    // The faulted node is not handed the job again.
    expect((await first.agent.poll()).assignments.some((x) => x.jobId === id)).toBe(false);
    const b = await takeAndStart(second.agent, id);
    expect(b.fencing).toBeGreaterThan(a.fencing);
    expect((await second.agent.exit(b, 0)).status).toBe(200);
    expect(await jobOf(user.apiKey, id)).toMatchObject({ status: "succeeded", attempts: 2 });

    const attempts = await attemptsOf(user.apiKey, id);
    const faulted = attempts.find((x) => x.id === a.attemptId);
    const ran = attempts.find((x) => x.id === b.attemptId);
    expect(faulted).toMatchObject({
      nodeId: first.agent.nodeId,
      outcome: "node_fault",
      charge: { chargedMicros: 0 },
    });
    expect(ran).toMatchObject({ nodeId: second.agent.nodeId, outcome: "succeeded" });
    expect(await earnings(first.agent.nodeId)).toBe(0);
    // What the user paid is the succeeded attempt's charge, nothing for the faulted one.
    const paid = start - (await balance(user.apiKey)).availableMicros;
    expect(paid).toBe(ran?.charge?.chargedMicros ?? Number.NaN);
    const trail = (await (await call(`/v1/jobs/${id}/events`, authed(user.apiKey))).json()) as {
      events: { status: string; reason: string | null }[];
    };
    expect(trail.events.map((e) => e.reason)).toContainEqual(
      expect.stringMatching(/^placing the job again after node \S+ failed attempt 1 by its own fault/),
    );
  });

  it("waits with its reason when no other node can take it, and is not failed", async () => {
    const user = await signup();
    const only = await ownedAgent(hardware([h100Numbered(8803)]));
    const id = await submitted201(user.apiKey);
    const a = await takeAndStart(only.agent, id);
    await engineDown(only.agent, a);
    const res = await call(`/v1/jobs/${id}`, authed(user.apiKey));
    const job = (await res.json()) as { status: string; attempts: number; explanation?: { message: string } };
    expect(job.status).toBe("queued");
    expect(job.explanation?.message).toMatch(/may take it again in \d+ s, after its own fault/);
    // Its next poll does not hand the job straight back to the node that just failed it.
    expect((await only.agent.poll()).assignments.some((x) => x.jobId === id)).toBe(false);
  });

  it("still fails at once when the container itself fails: the user's exit is not retried", async () => {
    const user = await signup();
    const one = await ownedAgent(hardware([h100Numbered(8804)]));
    const id = await submitted201(user.apiKey);
    const a = await takeAndStart(one.agent, id);
    const spare = await ownedAgent(hardware([h100Numbered(8805)]));
    expect((await one.agent.exit(a, 3)).status).toBe(200);
    expect((await spare.agent.poll()).assignments.some((x) => x.jobId === id)).toBe(false);
    expect(await jobOf(user.apiKey, id)).toMatchObject({ status: "failed", exitCode: 3, attempts: 1 });
    const [attempt] = await attemptsOf(user.apiKey, id);
    expect(attempt?.outcome).toBe("failed");
  });

  it("fails at once, saying why, when the engine refused the job's own image or config at start", async () => {
    // As a current agent reports it (`spec`), and as an older one did (`runtime`, the engine's words).
    const refusals = [
      { errorKind: "spec", message: "could not start the container: invalid environment variable: =x" },
      {
        errorKind: "runtime",
        message: "could not start the container: no such image: Bad:Ref::x: invalid reference format",
      },
    ] as const;
    for (const [index, refusal] of refusals.entries()) {
      const user = await signup();
      const one = await ownedAgent(hardware([h100Numbered(8806 + 2 * index)]));
      const id = await submitted201(user.apiKey);
      const a = (await one.agent.poll()).assignments.find((x) => x.jobId === id);
      if (!a) throw new Error(`${id} was not placed on ${one.agent.nodeId}`);
      const spare = await ownedAgent(hardware([h100Numbered(8807 + 2 * index)]));
      const res = await one.agent.report(a.attemptId, {
        type: "exited",
        fencing: a.fencing,
        at: Date.now(),
        exitCode: null,
        reason: "error",
        ...refusal,
      });
      expect(res.status).toBe(200);
      // No free retry: the spare node is not handed it, and the job fails naming the engine's words.
      expect((await spare.agent.poll()).assignments.some((x) => x.jobId === id)).toBe(false);
      const job = await jobOf(user.apiKey, id);
      expect(job).toMatchObject({ status: "failed", attempts: 1 });
      expect(job.reason).toContain(refusal.message);
      expect(job.reason).toContain("the job's own image, command or config: not retried");
      const [attempt] = await attemptsOf(user.apiKey, id);
      expect(attempt?.outcome).toBe("failed");
      await cleanUp();
    }
  });
});
