import { afterEach, describe, expect, it } from "vitest";
import { finish, providerView, reputationOf, submitted } from "./node-standing-support.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  expireLeases,
  hardware,
  jobOf,
  ownedAgent,
  signup,
} from "./support.js";

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
