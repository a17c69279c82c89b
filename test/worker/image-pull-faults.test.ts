import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { refundNodeFaults } from "../../src/worker/fault-refunds.js";
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

const DIGEST = `sha256:${"cd".repeat(32)}`;

/** An hourly job of `image`: a pull failure the agent called after a start would cost an hour. */
function specOf(image: string, tag: string) {
  return {
    name: tag,
    image,
    command: ["sh", "-c", `echo ${tag}`],
    region: "eu-west",
    resources: { gpus: 1 },
    maxPricePerGpuHour: "2.00",
    timeoutSeconds: 3600,
    billing: { mode: "hourly" },
  };
}

interface Attempt {
  id: string;
  outcome: string | null;
  errorKind: string | null;
  charge: { chargedMicros: number } | null;
  refund: { cause: string; refundedMicros: number } | null;
}

async function attemptsOf(apiKey: string, jobId: string): Promise<Attempt[]> {
  const res = await call(`/v1/jobs/${jobId}/attempts`, authed(apiKey));
  expect(res.status).toBe(200);
  return ((await res.json()) as { attempts: Attempt[] }).attempts;
}

/** The node's reputation: its score, and the attempts counted as its own fault. */
async function reputationOf(apiKey: string, nodeId: string): Promise<{ score: number; agentErrors: number }> {
  const res = await call(`/v1/provider/nodes/${nodeId}`, authed(apiKey));
  expect(res.status).toBe(200);
  const { reputation } = (await res.json()) as {
    reputation: { score: number; totals: { agentErrors: number } };
  };
  return { score: reputation.score, agentErrors: reputation.totals.agentErrors };
}

async function takeOne(agent: TestAgent): Promise<{ attemptId: string; fencing: number }> {
  const [a] = (await agent.poll()).assignments;
  if (!a) throw new Error("no assignment");
  return a;
}

/**
 * `agent` takes a job of `image` and says the image could not be pulled; with `afterStart` it
 * first reports the container started (a liar's way to be charged for it).
 */
async function pullFails(
  agent: TestAgent,
  apiKey: string,
  image: string,
  tag: string,
  afterStart = false,
): Promise<{ jobId: string; attemptId: string }> {
  const res = await submit(apiKey, specOf(image, tag));
  expect(res.status).toBe(201);
  const jobId = ((await res.json()) as { id: string }).id;
  const a = await takeOne(agent);
  if (afterStart) expect((await agent.start(a)).status).toBe(200);
  const exited = await agent.report(a.attemptId, {
    type: "exited",
    fencing: a.fencing,
    at: Date.now(),
    exitCode: null,
    reason: "error",
    errorKind: "image_pull",
    message: `pull access denied for ${image}`,
  });
  expect(exited.status).toBe(200);
  return { jobId, attemptId: a.attemptId };
}

/** `agent` pulls `image`, starts it (reporting its digest) and exits 0. */
async function pulls(agent: TestAgent, apiKey: string, image: string, tag: string): Promise<void> {
  const res = await submit(apiKey, specOf(image, tag));
  expect(res.status).toBe(201);
  const a = await takeOne(agent);
  const started = await agent.report(a.attemptId, {
    type: "started",
    fencing: a.fencing,
    at: Date.now(),
    containerId: `ctr-${a.attemptId}`,
    imageDigest: DIGEST,
  });
  expect(started.status).toBe(200);
  expect((await agent.exit(a, 0)).status).toBe(200);
}

function idle(agent: TestAgent): Promise<Response> {
  return agent.send("/v1/agent/poll", { running: [], acceptingWork: false, waitMs: 0 });
}

async function refundCount(): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM attempt_refunds").first<{ n: number }>();
  return row?.n ?? Number.NaN;
}

// Several signed round trips a test: the 5 s default is too tight on a loaded 2-core machine.
describe("image pulls that fail out of line with other nodes", { timeout: 30_000 }, () => {
  afterEach(drainAgents);

  it("counts a node's pull failures against it once more other nodes pulled the image, and refunds any charge", async () => {
    const user = await signup();
    const image = "registry.example/team/trainer:v1";
    const bad = await ownedAgent(hardware([h100Numbered(1201)]));
    const honest = await pullFails(bad.agent, user.apiKey, image, "pull-1201-a");
    // A liar reporting a start before the "pull failure" is charged (per second, never the hour).
    const charged = await pullFails(bad.agent, user.apiKey, image, "pull-1201-b", true);
    const [first] = await attemptsOf(user.apiKey, honest.jobId);
    expect(first).toMatchObject({ outcome: "failed", errorKind: "image_pull", charge: { chargedMicros: 0 } });
    expect((await jobOf(user.apiKey, honest.jobId)).status).toBe("failed");
    const [second] = await attemptsOf(user.apiKey, charged.jobId);
    const chargedMicros = second?.charge?.chargedMicros ?? 0;
    expect(second?.errorKind).toBe("image_pull");
    expect(chargedMicros).toBeGreaterThan(0);
    expect(chargedMicros).toBeLessThan(2_000_000);
    const before = await reputationOf(bad.apiKey, bad.agent.nodeId);
    expect(before.agentErrors).toBe(0);
    const balanceBefore = (await balance(user.apiKey)).availableMicros;

    // No other node has pulled it: the failures stay the user's.
    expect(await refundNodeFaults(env)).toEqual([]);
    await idle(bad.agent);
    const one = await ownedAgent(hardware([h100Numbered(1202)]));
    await pulls(one.agent, user.apiKey, image, "pull-1202");
    // One success against one failing node is not out of line (one node claiming a start cannot
    // blame another alone).
    expect(await refundNodeFaults(env)).toEqual([]);
    await idle(one.agent);
    const two = await ownedAgent(hardware([h100Numbered(1203)]));
    await pulls(two.agent, user.apiKey, image, "pull-1203");
    const chargedAfterSuccesses = (await balance(user.apiKey)).availableMicros;

    const swept = await refundNodeFaults(env);
    expect(swept).toEqual(
      expect.arrayContaining([
        { attemptId: honest.attemptId, nodeId: bad.agent.nodeId, cause: "image_pulled_elsewhere" },
        { attemptId: charged.attemptId, nodeId: bad.agent.nodeId, cause: "image_pulled_elsewhere" },
      ]),
    );
    expect(swept).toHaveLength(2);
    // Once each.
    expect(await refundNodeFaults(env)).toEqual([]);
    const after = await reputationOf(bad.apiKey, bad.agent.nodeId);
    expect(after.agentErrors).toBe(2);
    expect(after.score).toBeLessThan(before.score);
    expect((await attemptsOf(user.apiKey, charged.jobId))[0]?.refund).toMatchObject({
      cause: "image_pulled_elsewhere",
      refundedMicros: chargedMicros,
    });
    // The uncharged failure has nothing to give back.
    expect((await attemptsOf(user.apiKey, honest.jobId))[0]?.refund).toBeNull();
    expect((await balance(user.apiKey)).availableMicros).toBe(chargedAfterSuccesses + chargedMicros);
    expect(chargedAfterSuccesses).toBeLessThan(balanceBefore);
  });

  it("leaves a genuinely bad image the user's: it fails everywhere, or on more nodes than pull it", async () => {
    const user = await signup();
    const image = "registry.example/team/missing:v9";
    const nodes = [];
    const failures = [];
    for (const n of [1211, 1212]) {
      const node = await ownedAgent(hardware([h100Numbered(n)]));
      failures.push(await pullFails(node.agent, user.apiKey, image, `missing-${n}`));
      nodes.push(node);
      await idle(node.agent);
    }
    const refunds = await refundCount();
    expect(await refundNodeFaults(env)).toEqual([]);
    // A single node starting it (a liar, or a cache) does not outweigh two failures.
    const cached = await ownedAgent(hardware([h100Numbered(1213)]));
    await pulls(cached.agent, user.apiKey, image, "missing-1213");
    expect(await refundNodeFaults(env)).toEqual([]);
    for (const node of nodes)
      expect((await reputationOf(node.apiKey, node.agent.nodeId)).agentErrors).toBe(0);
    expect(await refundCount()).toBe(refunds);
    for (const failure of failures) {
      expect((await attemptsOf(user.apiKey, failure.jobId))[0]).toMatchObject({
        outcome: "failed",
        errorKind: "image_pull",
        refund: null,
      });
    }
  });
});
