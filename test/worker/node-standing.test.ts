import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type { Assignment, NodeMetrics } from "../../src/shared/agent-protocol.js";
import { toBase64 } from "../../src/shared/verification/bytes.js";
import { flopsOf } from "../../src/shared/verification/challenge-size.js";
import { merkleDepth } from "../../src/shared/verification/merkle.js";
import type {
  ChallengeRelease,
  SpotCheckRequest,
  VerificationChallenge,
  VerificationCommit,
  VerificationJudgement,
} from "../../src/shared/verification/messages.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  expireLeases,
  h100Numbered,
  hardware,
  jobOf,
  jsonInit,
  ownedAgent,
  regionObject,
  signup,
  submit,
  type TestAgent,
} from "./support.js";

const OPERATOR = "test-operator-token";
const base = { image: "meridian/busybox:test", command: ["true"], region: "eu-west", timeoutSeconds: 600 };

interface ReputationBody {
  nodeId: string;
  score: number;
  confidence: number;
  status: "active" | "quarantined" | "expelled";
  until?: number | string | null;
  reason?: string;
  components: {
    uptime: number | null;
    successRate: number | null;
    ackLatencyMs: number | null;
    verification: number | null;
  };
  totals: Record<string, number>;
}

interface ProviderNodeBody {
  node: { id: string; verification: string; reputation: number };
  status: string;
  verification: {
    outcome: string;
    gpus: { uuid: string; outcome: string; reasons: { code: string }[] }[];
  } | null;
  reputation: ReputationBody;
  health: { hot: boolean; gpuErrors: boolean; notices: string[] };
  jobs: { jobId: string; status: string }[];
}

async function providerView(apiKey: string, nodeId: string): Promise<ProviderNodeBody> {
  const res = await call(`/v1/provider/nodes/${nodeId}`, authed(apiKey));
  if (res.status !== 200) throw new Error(`provider view answered ${res.status}: ${await res.text()}`);
  return res.json();
}

async function reputationOf(apiKey: string, nodeId: string): Promise<ReputationBody> {
  const res = await call(`/v1/provider/nodes/${nodeId}/reputation`, authed(apiKey));
  if (res.status !== 200) throw new Error(`reputation answered ${res.status}: ${await res.text()}`);
  return res.json();
}

async function submitted(apiKey: string, spec: Record<string, unknown>): Promise<string> {
  const res = await submit(apiKey, { ...base, ...spec });
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

async function finish(agent: TestAgent, a: Assignment, exitCode: number): Promise<void> {
  await agent.start(a);
  const res = await agent.report(a.attemptId, {
    type: "exited",
    fencing: a.fencing,
    at: Date.now(),
    exitCode,
    reason: "completed",
  });
  expect(res.status).toBe(200);
}

/** A made-up commitment: a root the agent never computed, with what an H100 would measure. */
function lyingCommit(challenge: VerificationChallenge): VerificationCommit {
  return {
    challengeId: challenge.id,
    root: "ab".repeat(32),
    measured: {
      matmulMs: (flopsOf(challenge) / 790e12) * 1000,
      bandwidthGBps: 3000,
      bandwidthBytes: challenge.bandwidthBytes,
      vramAllocatedMib: Math.ceil(challenge.vramMib * 0.97),
      totalMs: 9_000,
    },
    runner: { mode: "host-process", backend: "test", device: "NVIDIA H100 80GB HBM3" },
  };
}

/**
 * Openings of the right shape that lead nowhere: zero rows, zero digest vectors, made-up sibling
 * hashes. Full size at n = 16384 (about 2 MB in all), so the answer route's larger body limit is
 * exercised too.
 */
function garbageAnswer(challenge: VerificationChallenge, request: SpotCheckRequest): unknown {
  const depth = merkleDepth(challenge.blocks);
  const row = toBase64(new Uint8Array(2 * challenge.n));
  const digests = toBase64(new Uint8Array(4 * challenge.n));
  return {
    challengeId: challenge.id,
    openings: request.leaves.map((leaf) => ({
      leaf,
      row,
      digests,
      proof: Array.from({ length: depth }, () => "cd".repeat(32)),
    })),
  };
}

async function challengeOf(agent: TestAgent): Promise<VerificationChallenge> {
  const poll = await agent.poll();
  const [challenge] = poll.challenges;
  if (!challenge) throw new Error("the poll carried no challenge");
  return challenge;
}

describe("proof-of-GPU through the Region object", () => {
  afterEach(drainAgents);

  it("challenges a new GPU node, rejects a lying agent, quarantines it and keeps work off it until lifted", async () => {
    const { agent: liar, apiKey: ownerKey } = await ownedAgent(hardware([h100Numbered(1)]));
    const challenge = await challengeOf(liar);
    expect(challenge).toMatchObject({
      nodeId: liar.nodeId,
      gpuUuid: h100Numbered(1).uuid,
      model: "H100-SXM",
      vramMib: h100Numbered(1).vramMib,
    });
    // No seed until the agent says it is ready; the setup deadline is generous.
    expect(challenge).not.toHaveProperty("seed");
    expect(challenge.readyBy).toBeGreaterThan(Date.now() + 60_000);
    // Until it says ready, every poll hands out the same challenge again (never a second one).
    expect((await liar.poll()).challenges.map((c) => c.id)).toEqual([challenge.id]);
    const pending = await providerView(ownerKey, liar.nodeId);
    expect(pending.verification?.outcome).toBe("pending");
    expect(pending.verification?.gpus[0]).toMatchObject({
      uuid: h100Numbered(1).uuid,
      outcome: "unverified",
    });

    const readyPath = `/v1/agent/challenges/${challenge.id}/ready`;
    const commitPath = `/v1/agent/challenges/${challenge.id}/commit`;
    const answerPath = `/v1/agent/challenges/${challenge.id}/answer`;
    const commit = lyingCommit(challenge);
    const ready = { challengeId: challenge.id };

    // Refusals first: none of them changes the challenge.
    await expectError(await call(readyPath, jsonInit("POST", ready)), 401, "unsigned_request");
    await expectError(await call(commitPath, jsonInit("POST", commit)), 401, "unsigned_request");
    const { agent: stranger } = await ownedAgent(hardware([h100Numbered(2)]));
    await expectError(await stranger.send(readyPath, ready), 403, "challenge_not_yours");
    await expectError(await liar.send(readyPath, { challengeId: "vch_x" }), 400, "invalid_ready");
    // No commit before the seed is out: the commit window has not started.
    await expectError(await liar.send(commitPath, commit), 409, "challenge_not_released");

    const readied = await liar.send(readyPath, ready);
    expect(readied.status).toBe(200);
    // The memory phase's seed first: the fill of an H100's working set, generously (it proves nothing).
    const memoryRelease = (await readied.json()) as ChallengeRelease;
    expect(memoryRelease.phase).toBe("memory");
    expect(memoryRelease.expiresAt - memoryRelease.releasedAt).toBeGreaterThan(30_000);
    expect(memoryRelease.expiresAt - memoryRelease.releasedAt).toBeLessThan(40_000);
    // "filled" releases the walk's seed: its own window, the reads at 80% of an H100's bandwidth.
    const filled = { challengeId: challenge.id, filled: true };
    const walkRelease = (await (await liar.send(readyPath, filled)).json()) as ChallengeRelease;
    expect(walkRelease.phase).toBe("walk");
    expect(walkRelease.seed).not.toBe(memoryRelease.seed);
    expect(walkRelease.expiresAt - walkRelease.releasedAt).toBeGreaterThan(5_000);
    expect(walkRelease.expiresAt - walkRelease.releasedAt).toBeLessThan(10_000);
    // The walk's root (this liar's is made up) releases the compute phase's seed.
    const walked = { challengeId: challenge.id, memory: { root: "ab".repeat(32) } };
    const release = (await (await liar.send(readyPath, walked)).json()) as ChallengeRelease;
    expect(release.phase).toBe("compute");
    expect(release.seed).not.toBe(memoryRelease.seed);
    expect(release.challengeId).toBe(challenge.id);
    expect(release.seed).toMatch(/^[0-9a-f]{64}$/);
    expect(release.releasedAt).toBeLessThanOrEqual(Date.now());
    // The products at 60% of an H100's datasheet plus a few seconds: about half a minute.
    expect(release.expiresAt - release.releasedAt).toBeGreaterThan(25_000);
    expect(release.expiresAt - release.releasedAt).toBeLessThan(40_000);
    // A repeated ready (a lost answer) gets the same release; a released challenge is not handed out.
    expect(await (await liar.send(readyPath, walked)).json()).toEqual(release);
    expect((await liar.poll()).challenges).toEqual([]);

    await expectError(await stranger.send(commitPath, commit), 403, "challenge_not_yours");
    await expectError(await liar.send(commitPath, { challengeId: challenge.id }), 400, "invalid_commit");
    await expectError(await liar.send(commitPath, "a root, trust me"), 400, "invalid_commit");
    await expectError(
      await liar.send("/v1/agent/challenges/vch_nope/commit", commit),
      400,
      "invalid_request",
    );
    await expectError(
      await liar.send(`/v1/agent/challenges/vch_${"0".repeat(32)}/commit`, {
        ...commit,
        challengeId: `vch_${"0".repeat(32)}`,
      }),
      404,
      "challenge_mismatch",
    );
    await expectError(
      await liar.send(
        answerPath,
        garbageAnswer(challenge, { challengeId: challenge.id, leaves: [0], answerBy: 0 }),
      ),
      409,
      "challenge_not_committed",
    );

    const committed = await liar.send(commitPath, commit);
    expect(committed.status).toBe(200);
    const spotChecks = (await committed.json()) as SpotCheckRequest;
    expect(spotChecks.challengeId).toBe(challenge.id);
    expect(spotChecks.leaves.length).toBeGreaterThan(0);
    expect(spotChecks.answerBy).toBeGreaterThan(Date.now());
    // The same commitment again (freshly signed, so not a signature replay): the desk refuses it.
    await expectError(await liar.send(commitPath, commit), 409, "challenge_replayed");
    // A committed challenge is not handed out again.
    expect((await liar.poll()).challenges).toEqual([]);

    await expectError(
      await liar.send(answerPath, { challengeId: challenge.id, openings: [] }),
      400,
      "invalid_answer",
    );
    await expectError(
      await stranger.send(answerPath, garbageAnswer(challenge, spotChecks)),
      403,
      "challenge_not_yours",
    );
    const answered = await liar.send(answerPath, garbageAnswer(challenge, spotChecks));
    expect(answered.status).toBe(200);
    const verdict = (await answered.json()) as { outcome: string; judgement: VerificationJudgement };
    expect(verdict.outcome).toBe("rejected");
    expect(verdict.judgement.nodeId).toBe(liar.nodeId);
    expect(verdict.judgement.reasons.map((r) => r.code)).toContain("digest_mismatch");
    await expectError(
      await liar.send(answerPath, garbageAnswer(challenge, spotChecks)),
      409,
      "challenge_replayed",
    );

    const view = await providerView(ownerKey, liar.nodeId);
    expect(view.verification?.outcome).toBe("rejected");
    expect(view.node.verification).toBe("rejected");
    expect(view.reputation.status).toBe("quarantined");
    expect(view.reputation.reason).toBe("verification rejected");
    expect(typeof view.reputation.until).toBe("string");
    expect(Date.parse(String(view.reputation.until))).toBeGreaterThan(Date.now());
    expect(view.reputation.totals).toMatchObject({ rejected: 1, quarantines: 1 });
    expect(view.reputation.components.verification).toBe(0);
    // A rejected GPU is not challenged again on its own.
    expect((await liar.poll()).challenges).toEqual([]);

    // New GPU work is not placed on it; it waits, and goes to the next eligible node. (The stranger
    // is eligible, so every agent is drained first; the liar's poll below takes it back up.)
    await drainAgents();
    const { apiKey: user } = await signup();
    const first = await submitted(user, { name: "gpu-1", resources: { gpus: 1 } });
    expect((await liar.poll()).assignments).toEqual([]);
    expect((await jobOf(user, first)).status).toBe("queued");
    const { agent: honest } = await ownedAgent(hardware([h100Numbered(3)]));
    const [placed] = (await honest.poll()).assignments;
    expect(placed?.jobId).toBe(first);
    expect((await jobOf(user, first)).nodeId).toBe(honest.nodeId);

    // The operator lifts the quarantine: only the operator may, and only for a known node.
    const liftPath = `/v1/operator/nodes/${liar.nodeId}/lift`;
    await expectError(await call(liftPath, { method: "POST" }), 401, "unauthorized");
    await expectError(await call(liftPath, authed("not-the-token", "POST")), 403, "operator_only");
    await expectError(await call(liftPath, authed(ownerKey, "POST")), 403, "operator_only");
    await expectError(
      await call(`/v1/operator/nodes/node_${"0".repeat(26)}/lift`, authed(OPERATOR, "POST")),
      404,
      "node_not_found",
    );
    const lifted = await call(liftPath, authed(OPERATOR, "POST"));
    expect(lifted.status).toBe(200);
    const liftedView = (await lifted.json()) as ReputationBody;
    expect(liftedView.status).toBe("active");
    expect(liftedView.totals.lifts).toBe(1);
    expect(liftedView.until).toBeNull();
    expect((await reputationOf(ownerKey, liar.nodeId)).status).toBe("active");

    // Lifting also gives the node a fresh chance to prove its GPUs: its next poll carries a new
    // challenge; until it passes one, the rejection stands and it gets no GPU work.
    const after = await providerView(ownerKey, liar.nodeId);
    expect(after.verification?.outcome).toBe("rejected");
    const fresh = (await liar.poll()).challenges;
    expect(fresh).toHaveLength(1);
    expect(fresh[0]?.id).not.toBe(challenge.id);
    if (placed) await finish(honest, placed, 0);
    // drainAgents already let go of the liar; it polled since, so it is drained by hand.
    await liar.send("/v1/agent/poll", { running: [], acceptingWork: false, waitMs: 0 });
  });
});

/** Moves a node's open (issued, not yet ready) challenge past its setup deadline, then runs the alarm. */
async function missDeadline(nodeId: string): Promise<void> {
  await runInDurableObject(regionObject(), (instance) => {
    const desk = (
      instance as unknown as {
        standing: {
          desk: {
            nodes: Map<string, { gpus: { challenge: { challenge: { readyBy: number } } | null }[] }>;
          };
        };
      }
    ).standing.desk;
    const open = desk.nodes.get(nodeId)?.gpus.find((gpu) => gpu.challenge !== null)?.challenge;
    if (!open) throw new Error(`no open challenge for ${nodeId}`);
    open.challenge.readyBy = 0;
  });
  await runDurableObjectAlarm(regionObject());
}

describe("a challenge left unanswered", () => {
  afterEach(drainAgents);

  it("is rejected for the missed setup deadline when the alarm runs; a late ready or commit is refused", async () => {
    // These tests run with REQUIRE_VERIFIED_GPUS=false: a node that never ran the benchmark is
    // judged rejected, but not punished for it (a region that requires verification would quarantine it).
    const { agent, apiKey: ownerKey } = await ownedAgent(hardware([h100Numbered(30)]));
    const challenge = await challengeOf(agent);
    await missDeadline(agent.nodeId);
    const view = await providerView(ownerKey, agent.nodeId);
    expect(view.verification?.outcome).toBe("rejected");
    expect(view.verification?.gpus[0]?.reasons.map((r) => r.code)).toEqual(["deadline_missed"]);
    expect(view.reputation.status).toBe("active");
    await expectError(
      await agent.send(`/v1/agent/challenges/${challenge.id}/ready`, { challengeId: challenge.id }),
      409,
      "challenge_replayed",
    );
    await expectError(
      await agent.send(`/v1/agent/challenges/${challenge.id}/commit`, lyingCommit(challenge)),
      409,
      "challenge_replayed",
    );
  });
});

describe("reputation through the Region object", () => {
  afterEach(drainAgents);

  it("quarantines a node after three separate losses within an hour, and keeps new work off it", async () => {
    const { agent, apiKey: ownerKey } = await ownedAgent(hardware([], 4, 8192));
    const { apiKey: user } = await signup();
    expect((await reputationOf(ownerKey, agent.nodeId)).status).toBe("active");
    // Three incidents: each attempt's lease lapses in its own sweep (its own alarm).
    for (let i = 1; i <= 3; i++) {
      const id = await submitted(user, { name: `lost-${i}`, maxRetries: 0 });
      const a = (await agent.poll()).assignments.find((x) => x.jobId === id);
      if (!a) throw new Error(`job ${i} was not placed`);
      await expireLeases([a.attemptId]);
      expect((await jobOf(user, id)).status).toBe("lost");
      const rep = await reputationOf(ownerKey, agent.nodeId);
      expect(rep.totals.lost).toBe(i);
      expect(rep.status).toBe(i < 3 ? "active" : "quarantined");
    }
    const rep = await reputationOf(ownerKey, agent.nodeId);
    expect(rep.reason).toMatch(/3 attempts lost within 60 minutes/);
    expect(rep.components.successRate).toBe(0);
    expect(rep.totals.quarantines).toBe(1);
    expect(rep.score).toBeLessThan(0.5);

    const waiting = await submitted(user, { name: "after" });
    expect((await agent.poll()).assignments).toEqual([]);
    expect((await jobOf(user, waiting)).status).toBe("queued");
    expect((await call(`/v1/jobs/${waiting}/cancel`, authed(user, "POST"))).status).toBe(200);
  });

  it("counts five attempts lost in one sweep as one incident, not a quarantine", async () => {
    const { agent, apiKey: ownerKey } = await ownedAgent(hardware([], 8, 16384));
    const { apiKey: user } = await signup();
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++)
      ids.push(await submitted(user, { name: `one-incident-${i}`, maxRetries: 0, resources: { cpus: 1 } }));
    const assignments = (await agent.poll()).assignments.filter((x) => ids.includes(x.jobId));
    expect(assignments).toHaveLength(5);
    await expireLeases(assignments.map((a) => a.attemptId));
    for (const id of ids) expect((await jobOf(user, id)).status).toBe("lost");
    const rep = await reputationOf(ownerKey, agent.nodeId);
    expect(rep.totals.lost).toBe(5);
    expect(rep.status).toBe("active");
    expect(rep.totals.quarantines).toBe(0);
    // The node still takes work.
    const next = await submitted(user, { name: "after-one-incident" });
    expect((await agent.poll()).assignments.map((x) => x.jobId)).toContain(next);
  });

  it("does not hold a container's own non-zero exit against the node", async () => {
    const { agent, apiKey: ownerKey } = await ownedAgent(hardware([], 4, 8192));
    const { apiKey: user } = await signup();
    const fresh = await reputationOf(ownerKey, agent.nodeId);
    expect(fresh.components.successRate).toBeNull();

    const ok = await submitted(user, { name: "ok" });
    const a = (await agent.poll()).assignments.find((x) => x.jobId === ok);
    if (!a) throw new Error("not placed");
    await finish(agent, a, 0);
    const afterSuccess = await reputationOf(ownerKey, agent.nodeId);
    expect(afterSuccess.components.successRate).toBe(1);
    expect(afterSuccess.totals.succeeded).toBe(1);
    expect(afterSuccess.components.ackLatencyMs).not.toBeNull();

    const bad = await submitted(user, { name: "exit-1" });
    const b = (await agent.poll()).assignments.find((x) => x.jobId === bad);
    if (!b) throw new Error("not placed");
    await finish(agent, b, 1);
    expect((await jobOf(user, bad)).status).toBe("failed");
    const afterFailure = await reputationOf(ownerKey, agent.nodeId);
    expect(afterFailure.components.successRate).toBe(1);
    expect(afterFailure.totals).toMatchObject({ succeeded: 1, userFailures: 1, lost: 0, agentErrors: 0 });
    expect(afterFailure.status).toBe("active");
    // Only time moved (uptime accrues): the score did not drop for the user's failure.
    expect(afterFailure.score).toBeGreaterThanOrEqual(afterSuccess.score - 1e-6);

    // An agent error (the agent could not run the container) is the node's, and does count.
    const broken = await submitted(user, { name: "agent-error", maxRetries: 0 });
    const c = (await agent.poll()).assignments.find((x) => x.jobId === broken);
    if (!c) throw new Error("not placed");
    await agent.report(c.attemptId, {
      type: "exited",
      fencing: c.fencing,
      at: Date.now(),
      exitCode: null,
      reason: "error",
      message: "image pull failed",
    });
    const afterError = await reputationOf(ownerKey, agent.nodeId);
    expect(afterError.totals.agentErrors).toBe(1);
    expect(afterError.components.successRate).toBeCloseTo(0.5, 3);
    expect(afterError.score).toBeLessThan(afterFailure.score);
  });

  it("shows a node's reputation only to its owner", async () => {
    const { agent, apiKey: ownerKey } = await ownedAgent(hardware([], 2, 4096));
    const rep = await reputationOf(ownerKey, agent.nodeId);
    expect(rep.nodeId).toBe(agent.nodeId);
    expect(Object.keys(rep.components).sort()).toEqual([
      "ackLatencyMs",
      "successRate",
      "uptime",
      "verification",
    ]);
    expect(rep.score).toBeGreaterThan(0);
    expect(rep.score).toBeLessThanOrEqual(1);
    expect(rep.confidence).toBeGreaterThanOrEqual(0);
    const view = await providerView(ownerKey, agent.nodeId);
    expect(view.verification).toBeNull();
    expect(view.node.verification).toBe("not_required");

    const { apiKey: other } = await signup();
    await expectError(
      await call(`/v1/provider/nodes/${agent.nodeId}/reputation`, authed(other)),
      404,
      "node_not_found",
    );
    await expectError(await call(`/v1/provider/nodes/${agent.nodeId}`, authed(other)), 404, "node_not_found");
    await expectError(
      await call(`/v1/provider/nodes/node_nope/reputation`, authed(ownerKey)),
      404,
      "node_not_found",
    );
    expect((await call(`/v1/provider/nodes/${agent.nodeId}/reputation`)).status).toBe(401);
  });
});

function sample(at: number, gpu: Partial<NodeMetrics["gpus"][number]>): NodeMetrics {
  return {
    at,
    gpus: [{ index: 0, memoryUsedMib: 2048, ...gpu }],
    host: { cpuPct: 12, memoryUsedMib: 4096, diskFreeMib: 50_000 },
  };
}

describe("node metrics and health", () => {
  afterEach(drainAgents);

  it("keeps the series a poll carries and calls a GPU at 95 °C hot", async () => {
    const { agent, apiKey: ownerKey } = await ownedAgent(hardware([h100Numbered(10)]));
    const t0 = Date.now();
    const cool = sample(t0, { utilizationPct: 40, temperatureC: 60, powerW: 300, smClockMhz: 1980 });
    expect((await agent.send("/v1/agent/poll", { running: [], waitMs: 0, metrics: cool })).status).toBe(200);
    const hot = sample(t0 + 1, { utilizationPct: 99, temperatureC: 95, powerW: 690, smClockMhz: 1400 });
    expect((await agent.send("/v1/agent/poll", { running: [], waitMs: 0, metrics: hot })).status).toBe(200);

    const res = await call(`/v1/nodes/${agent.nodeId}/metrics`, authed(ownerKey));
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      nodeId: string;
      health: { hot: boolean; gpuErrors: boolean; notices: string[] };
      series: { at: string; gpus: { temperatureC?: number }[] }[];
    };
    expect(body.nodeId).toBe(agent.nodeId);
    expect(body.series.map((s) => s.gpus[0]?.temperatureC)).toEqual([60, 95]);
    expect(body.series[1]?.at).toBe(new Date(t0 + 1).toISOString());
    expect(body.health.hot).toBe(true);
    expect(body.health.gpuErrors).toBe(false);
    expect(body.health.notices.join("\n")).toMatch(/GPU 0 is at 95 °C/);

    const view = await providerView(ownerKey, agent.nodeId);
    expect(view.health.hot).toBe(true);
    expect(view.health.notices.some((n) => n.includes("95 °C"))).toBe(true);

    // Any signed-in account may read a node's metrics; a bad or unknown id is 404.
    const { apiKey: someone } = await signup();
    expect((await call(`/v1/nodes/${agent.nodeId}/metrics`, authed(someone))).status).toBe(200);
    await expectError(await call("/v1/nodes/node_nope/metrics", authed(someone)), 404, "node_not_found");
    await expectError(
      await call(`/v1/nodes/node_${"0".repeat(26)}/metrics`, authed(someone)),
      404,
      "node_not_found",
    );
    await expectError(
      await agent.send("/v1/agent/poll", { running: [], metrics: { at: t0 } }),
      400,
      "invalid_request",
    );
  });

  it("calls a GPU with a hardware slowdown hot, and takes samples with [N/A] fields", async () => {
    const { agent, apiKey: ownerKey } = await ownedAgent(hardware([h100Numbered(11)]));
    const t0 = Date.now();
    // nvidia-smi reported [N/A] for everything but memory: the fields are absent, and that is fine.
    const bare = sample(t0, {});
    expect((await agent.send("/v1/agent/poll", { running: [], waitMs: 0, metrics: bare })).status).toBe(200);
    let health = (await providerView(ownerKey, agent.nodeId)).health;
    expect(health).toMatchObject({ hot: false, gpuErrors: false, notices: [] });

    const throttled = sample(t0 + 1, { hwSlowdown: true, utilizationPct: 100 });
    expect((await agent.send("/v1/agent/poll", { running: [], waitMs: 0, metrics: throttled })).status).toBe(
      200,
    );
    health = (await providerView(ownerKey, agent.nodeId)).health;
    expect(health.hot).toBe(true);
    expect(health.notices.join("\n")).toMatch(/hardware slowdown/);

    const metrics = (await (await call(`/v1/nodes/${agent.nodeId}/metrics`, authed(ownerKey))).json()) as {
      series: { gpus: Record<string, unknown>[] }[];
    };
    expect(metrics.series).toHaveLength(2);
    expect(metrics.series[0]?.gpus[0]).toEqual({ index: 0, memoryUsedMib: 2048 });
    expect(metrics.series[1]?.gpus[0]).toMatchObject({ hwSlowdown: true });

    // The slowdown clears: healthy again.
    const calm = sample(t0 + 2, { hwSlowdown: false, temperatureC: 55 });
    expect((await agent.send("/v1/agent/poll", { running: [], waitMs: 0, metrics: calm })).status).toBe(200);
    expect((await providerView(ownerKey, agent.nodeId)).health.hot).toBe(false);
  });
});

describe("the inventory", () => {
  afterEach(drainAgents);

  it("lists verification, verified TFLOP/s, price per verified TFLOP-hour and reputation per node", async () => {
    const { agent: gpuNode } = await ownedAgent(hardware([h100Numbered(20)]));
    const { agent: cpuNode } = await ownedAgent(hardware([], 8, 16_384));
    const { apiKey } = await signup();
    const res = await call("/v1/nodes", authed(apiKey));
    expect(res.status).toBe(200);
    const { nodes } = (await res.json()) as { nodes: Record<string, unknown>[] };
    const gpu = nodes.find((n) => n.id === gpuNode.nodeId);
    const cpu = nodes.find((n) => n.id === cpuNode.nodeId);
    for (const node of [gpu, cpu]) {
      expect(node).toBeDefined();
      expect(node).toHaveProperty("verification");
      expect(node).toHaveProperty("verifiedTflops");
      expect(node).toHaveProperty("pricePerVerifiedTflopHour");
      expect(typeof node?.reputation).toBe("number");
    }
    // Not proven yet (tests admit unverified GPUs): no verified figures, so no price per TFLOP.
    expect(gpu).toMatchObject({
      verification: "unverified",
      verifiedTflops: null,
      pricePerVerifiedTflopHour: null,
    });
    expect(cpu).toMatchObject({
      verification: "not_required",
      verifiedTflops: null,
      pricePerVerifiedTflopHour: null,
    });
    // Once its poll carries the challenge, it is pending.
    await challengeOf(gpuNode);
    const again = (await (await call("/v1/nodes", authed(apiKey))).json()) as {
      nodes: Record<string, unknown>[];
    };
    expect(again.nodes.find((n) => n.id === gpuNode.nodeId)?.verification).toBe("pending");
  });

  it("places work on a trusted host (runtime host) as on a Docker node, never on runtime none", async () => {
    const { agent: idle } = await ownedAgent(hardware([], 64, 262_144), { runtime: "none" });
    const { agent: host } = await ownedAgent(hardware([], 2, 4096), { runtime: "host" });
    const { apiKey: user } = await signup();
    const id = await submitted(user, { name: "on-host" });
    expect((await idle.poll()).assignments).toEqual([]);
    const a = (await host.poll()).assignments.find((x) => x.jobId === id);
    if (!a) throw new Error("the host-runtime node got no work");
    await finish(host, a, 0);
    expect((await jobOf(user, id)).status).toBe("succeeded");
  });
});
