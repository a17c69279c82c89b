import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { Assignment, ReclaimResponse } from "../../src/shared/agent-protocol.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  expireLeases,
  H100,
  hardware,
  jobOf,
  regionObject,
  signup,
  submit,
  TestAgent,
} from "./support.js";

const spec = { name: "work", image: "meridian/busybox:test", command: ["sleep", "60"], region: "eu-west" };

async function events(apiKey: string, jobId: string): Promise<{ status: string; reason: string | null }[]> {
  const res = await call(`/v1/jobs/${jobId}/events`, authed(apiKey));
  return ((await res.json()) as { events: { status: string; reason: string | null }[] }).events;
}

const submitted: { apiKey: string; id: string }[] = [];

/** Storage is shared by the tests of this file: jobs left queued would be placed on later tests' nodes. */
async function cleanUp(): Promise<void> {
  for (const { apiKey, id } of submitted.splice(0))
    await call(`/v1/jobs/${id}/cancel`, authed(apiKey, "POST"));
  await drainAgents();
}

/** A job submitted, assigned to `agent` and started there. */
async function runningOn(
  agent: TestAgent,
  apiKey: string,
  body: object = spec,
): Promise<{ id: string; a: Assignment }> {
  const { id } = (await (await submit(apiKey, body)).json()) as { id: string };
  submitted.push({ apiKey, id });
  const a = (await agent.poll()).assignments.find((x) => x.jobId === id);
  if (!a) throw new Error("no assignment");
  await agent.start(a);
  return { id, a };
}

/**
 * Ends a lost job's retry backoff now, if it has one (the first retry after a lost node has none:
 * the job is placed again at once), and runs the sweep that places it again.
 */
async function retryNow(jobId: string): Promise<void> {
  await runInDurableObject(regionObject(), (instance) => {
    const jobs = (instance as unknown as { state: { jobs: Map<string, { retryAt: number | null }> } }).state
      .jobs;
    const job = jobs.get(jobId);
    if (job === undefined) throw new Error(`job ${jobId} is not in the region`);
    if (job.retryAt !== null) job.retryAt = 0;
  });
  await runDurableObjectAlarm(regionObject());
}

async function reclaim(agent: TestAgent, attempts: unknown): Promise<Response> {
  return agent.send("/v1/agent/reclaim", { attempts });
}

describe("an agent that restarts takes its attempts up again", () => {
  afterEach(cleanUp);

  it("hands back the node's attempts with their fencing, the run time left and where the stored output ends", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([H100]));
    const { id, a } = await runningOn(agent, apiKey, {
      ...spec,
      resources: { gpus: 1 },
      timeoutSeconds: 600,
    });
    const logs = [
      { stream: "stdout", data: "première ligne\n", at: Date.now() },
      { stream: "stderr", data: "warn\n", at: Date.now() },
      { stream: "stdout", data: "two\n", at: Date.now() },
    ];
    expect((await agent.report(a.attemptId, { type: "logs", fencing: a.fencing, chunks: logs })).status).toBe(
      200,
    );

    // The control plane restarts too (its memory is gone); the agent asks before its first poll.
    await abortAllDurableObjects();
    const res = await reclaim(agent, [
      { attemptId: a.attemptId, running: true },
      { attemptId: "att_00000000000000000000000000", running: false },
    ]);
    expect(res.status).toBe(200);
    const answer = (await res.json()) as ReclaimResponse;
    expect(answer.drop).toEqual([{ attemptId: "att_00000000000000000000000000", reason: "unknown_attempt" }]);
    expect(answer.keep).toHaveLength(1);
    const [kept] = answer.keep;
    expect(kept?.assignment).toMatchObject({
      attemptId: a.attemptId,
      jobId: id,
      fencing: a.fencing,
      image: spec.image,
    });
    expect(kept?.assignment.timeoutSeconds).toBeGreaterThan(590);
    expect(kept?.assignment.timeoutSeconds).toBeLessThanOrEqual(600);
    expect(kept?.started).toBe(true);
    // UTF-8 bytes, as the container wrote them: "première ligne\n" is 16 bytes, "two\n" 4.
    expect(kept?.logOffsets).toEqual({ stdout: 20, stderr: 5 });

    // The attempt goes on as if nothing happened: one attempt, succeeded, no loss.
    await agent.exit(a);
    expect(await jobOf(apiKey, id)).toMatchObject({ status: "succeeded", attempts: 1 });
    expect((await events(apiKey, id)).map((e) => e.status)).toEqual([
      "queued",
      "assigned",
      "running",
      "succeeded",
    ]);
  });

  it("loses at once a started attempt whose container the restarted agent did not find", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware());
    const { id } = await runningOn(agent, apiKey);
    const answer = (await (await reclaim(agent, [])).json()) as ReclaimResponse;
    expect(answer).toEqual({ keep: [], drop: [] });
    // Lost at once, and placed again at once (no backoff on a first retry) on the only node there is.
    const job = await jobOf(apiKey, id);
    expect(job).toMatchObject({ status: "assigned", nodeId: agent.nodeId });
    expect((await events(apiKey, id)).map((e) => e.status)).toContain("lost");
  });

  it("tells the agent to remove a container whose attempt was placed elsewhere meanwhile", async () => {
    const { apiKey } = await signup();
    const gone = new TestAgent();
    await gone.register(hardware([], 2, 4096));
    const { id, a } = await runningOn(gone, apiKey);
    const other = new TestAgent();
    await other.register(hardware([], 2, 4096));
    await expireLeases([a.attemptId]);
    await retryNow(id);
    const fresh = (await other.poll()).assignments.find((x) => x.jobId === id);
    expect(fresh?.attemptId).toBeDefined();

    const answer = (await (
      await reclaim(gone, [{ attemptId: a.attemptId, running: true }])
    ).json()) as ReclaimResponse;
    expect(answer).toEqual({ keep: [], drop: [{ attemptId: a.attemptId, reason: "unknown_attempt" }] });
    // Its late report is refused clearly, and changes nothing.
    const before = await events(apiKey, id);
    await expectError(await gone.exit(a), 409, "stale_lease");
    expect(await events(apiKey, id)).toEqual(before);
    expect((await jobOf(apiKey, id)).nodeId).toBe(other.nodeId);
  });

  it("refuses a malformed reclaim and an unregistered node, changing nothing", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware());
    const { id, a } = await runningOn(agent, apiKey);
    const before = await events(apiKey, id);
    for (const bad of [
      [
        { attemptId: a.attemptId, running: true },
        { attemptId: a.attemptId, running: false },
      ],
      [{ attemptId: "not-an-attempt", running: true }],
      [{ attemptId: a.attemptId }],
      [{ attemptId: a.attemptId, running: true, fencing: 3 }],
      "everything",
    ]) {
      await expectError(await reclaim(agent, bad), 400, "invalid_request");
    }
    await expectError(
      await agent.send("/v1/agent/reclaim", { attempts: [], extra: 1 }),
      400,
      "invalid_request",
    );
    const stranger = new TestAgent();
    stranger.region = "eu-west";
    await expectError(await reclaim(stranger, []), 401, "unknown_node");
    expect(await events(apiKey, id)).toEqual(before);
    expect((await jobOf(apiKey, id)).status).toBe("running");
  });
});

describe("an agent that shuts down gives its attempts back", () => {
  afterEach(cleanUp);

  it("places the job again at once, elsewhere, with nothing lost, charged or spent from its retries", async () => {
    const { apiKey } = await signup();
    const leaving = new TestAgent();
    await leaving.register(hardware([], 2, 4096));
    const { id, a } = await runningOn(leaving, apiKey, { ...spec, maxRetries: 0 });
    const staying = new TestAgent();
    await staying.register(hardware([], 2, 4096));
    // The drain says so first, then reports the stopped attempt.
    const drain = await leaving.send("/v1/agent/poll", {
      running: [{ attemptId: a.attemptId, fencing: a.fencing }],
      acceptingWork: false,
      waitMs: 0,
    });
    expect(drain.status).toBe(200);
    const res = await leaving.report(a.attemptId, {
      type: "exited",
      fencing: a.fencing,
      at: Date.now(),
      exitCode: 143,
      reason: "error",
      message: "the node's agent shut down",
      errorKind: "node_shutdown",
    });
    expect(res.status).toBe(200);
    const requeued = await jobOf(apiKey, id);
    expect(requeued.status).toBe("assigned");
    expect(requeued.nodeId, `leaving ${leaving.nodeId}`).toBe(staying.nodeId);
    const trail = await events(apiKey, id);
    expect(trail.map((e) => e.status)).toEqual(["queued", "assigned", "running", "queued", "assigned"]);
    expect(trail[3]?.reason).toMatch(/shut down and stopped the attempt; placing the job again/);
    const next = (await staying.poll()).assignments.find((x) => x.jobId === id);
    if (!next) throw new Error("not placed again");
    expect(next.env.MERIDIAN_ATTEMPT).toBe("1");
    await staying.start(next);
    await staying.exit(next);
    expect((await jobOf(apiKey, id)).status).toBe("succeeded");
    const outcomes = await env.DB.prepare(
      "SELECT outcome FROM job_attempts WHERE job_id = ? ORDER BY fencing",
    )
      .bind(id)
      .all();
    expect(outcomes.results).toEqual([{ outcome: "returned" }, { outcome: "succeeded" }]);
  });
});

describe("a job whose attempt was lost avoids that node only while another could take it", () => {
  afterEach(cleanUp);

  it("goes back to the only node that can run it rather than wait forever", async () => {
    const { apiKey } = await signup();
    const only = new TestAgent();
    // The only node with an H100 in the region's tests here: nothing else can take the job.
    await only.register(hardware([{ ...H100, uuid: "GPU-cccccccc-0000-0000-0000-000000000000" }]));
    const { id, a } = await runningOn(only, apiKey, {
      ...spec,
      resources: { gpus: 1, gpuModels: ["H100-SXM"] },
    });
    await only.poll([]);
    await expireLeases([a.attemptId]);
    // No backoff on a first retry: back on the only node at once, its avoidance lifted.
    expect((await jobOf(apiKey, id)).status).toBe("assigned");
    await retryNow(id);
    const back = (await only.poll()).assignments.find((x) => x.jobId === id);
    if (!back) throw new Error(`the job waits: ${JSON.stringify(await jobOf(apiKey, id))}`);
    expect(back.fencing).toBeGreaterThan(a.fencing);
    const trail = await events(apiKey, id);
    expect(trail.some((e) => /no other node can take the job now/.test(e.reason ?? ""))).toBe(true);
    await only.start(back);
    await only.exit(back);
    expect(await jobOf(apiKey, id)).toMatchObject({ status: "succeeded", attempts: 2 });
  });

  it("goes to another node that can take it, not back to the one that lost it", async () => {
    const { apiKey } = await signup();
    const lost = new TestAgent();
    await lost.register(hardware([], 2, 4096));
    const { id, a } = await runningOn(lost, apiKey);
    const other = new TestAgent();
    await other.register(hardware([], 2, 4096));
    await lost.poll([]);
    await expireLeases([a.attemptId]);
    await retryNow(id);
    expect((await jobOf(apiKey, id)).nodeId).toBe(other.nodeId);
    expect((await lost.poll()).assignments.some((x) => x.jobId === id)).toBe(false);
  });
});
