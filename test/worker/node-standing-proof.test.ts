import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import type {
  ChallengeRelease,
  SpotCheckRequest,
  VerificationJudgement,
} from "../../src/shared/verification/messages.js";
import {
  challengeOf,
  finish,
  garbageAnswer,
  lyingCommit,
  OPERATOR,
  providerView,
  type ReputationBody,
  reputationOf,
  submitted,
} from "./node-standing-support.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  h100Numbered,
  hardware,
  jobOf,
  jsonInit,
  ownedAgent,
  regionObject,
  signup,
} from "./support.js";

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
