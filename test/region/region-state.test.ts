import { describe, expect, it } from "vitest";
import { STORAGE_KEYS } from "../../src/durable/storage-keys.js";
import { AGENT_RETRY_CAP_MS } from "../../src/shared/agent-retry.js";
import { FakeClock, gpuJob, gpuNode, poll, RecordingStanding, region, TIMING } from "./region-support.js";

describe("the region's state machine, on a fake clock", () => {
  it("places a submitted job in the same step, staging its record, its D1 rows and a wake", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a"), clock.now());
    state.drainEffects();
    expect(state.submit(gpuJob("job_1", clock.now()), clock.now())).toBe(true);
    const job = state.jobs.get("job_1");
    expect(job?.status).toBe("assigned");
    expect(job?.members.map((m) => m.nodeId)).toEqual(["node_a"]);
    const effects = state.drainEffects();
    expect(effects.puts.has(`${STORAGE_KEYS.job}job_1`)).toBe(true);
    expect(effects.puts.get(STORAGE_KEYS.fencing)).toBe(1);
    expect(effects.outbox.map((e) => e.kind)).toEqual(["attempt-start", "transition"]);
    expect([...effects.wake]).toEqual(["node_a"]);
    // The same job again changes nothing.
    expect(state.submit(gpuJob("job_1", clock.now()), clock.now())).toBe(false);
  });

  it("places the next queued job as soon as an exit frees the GPU", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a"), clock.now());
    state.submit(gpuJob("job_1", clock.now()), clock.now());
    state.submit(gpuJob("job_2", clock.now()), clock.now());
    expect(state.jobs.get("job_2")?.status).toBe("queued");
    const first = state.jobs.get("job_1")?.members[0];
    const job1 = state.jobs.get("job_1");
    if (!first || !job1) throw new Error("job_1 was not placed");
    state.report(
      job1,
      first,
      { type: "started", fencing: first.fencing, at: clock.now(), containerId: "c" },
      clock.advance(100),
    );
    state.report(
      job1,
      first,
      { type: "exited", fencing: first.fencing, at: clock.now(), exitCode: 0, reason: "completed" },
      clock.advance(1000),
    );
    expect(state.jobs.has("job_1")).toBe(false);
    expect(state.jobs.get("job_2")?.status).toBe("assigned");
  });

  it("keeps a lease while the node polls, and loses the attempt once it falls silent, placing it elsewhere at once", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a", 500_000), clock.now());
    state.registerNode(gpuNode("node_b", 2_000_000), clock.now());
    state.submit(gpuJob("job_1", clock.now(), { strategy: "cheapest" }), clock.now());
    const member = state.jobs.get("job_1")?.members[0];
    if (!member) throw new Error("not placed");
    const running = [{ attemptId: member.id, fencing: member.fencing }];
    const other = member.nodeId === "node_a" ? "node_b" : "node_a";
    for (let i = 0; i < 12; i++) {
      clock.advance(1000);
      poll(state, member.nodeId, `a${i}`, clock.now(), running);
      state.pollAnswered(member.nodeId, `a${i}`, clock.now());
      poll(state, other, `b${i}`, clock.now());
      state.sweep(clock.now());
    }
    expect(state.jobs.get("job_1")?.status).toBe("assigned");
    // The node falls silent; the other keeps a poll open.
    for (let i = 0; i < 6; i++) state.sweep(clock.advance(1000));
    const job = state.jobs.get("job_1");
    expect(job?.status).toBe("assigned");
    expect(job?.retryAt).toBeNull();
    expect(job?.avoidedNodes).toEqual([member.nodeId]);
    const retried = job?.members[0];
    expect(retried?.nodeId).toBe(other);
    expect(retried?.fencing).toBeGreaterThan(member.fencing);
    // A report from the lost attempt is no longer current.
    expect(state.currentAttempt(member.id, member.nodeId, member.fencing)).toBeUndefined();
    // Its old attempt, should the node come back with it, is told to stop.
    expect(poll(state, member.nodeId, "back", clock.now(), running)).toEqual([
      { attemptId: member.id, reason: "unknown_attempt" },
    ]);
  });

  it("reports what nodes did to their standing, and re-indexes them before it places anything", () => {
    const clock = new FakeClock();
    const standing = new RecordingStanding();
    standing.barOnLoss = true;
    const state = region(clock, standing);
    state.registerNode(gpuNode("node_a", 500_000), clock.now());
    state.registerNode(gpuNode("node_b", 2_000_000), clock.now());
    state.submit(gpuJob("job_1", clock.now(), { strategy: "cheapest", maxRetries: 0 }), clock.now());
    expect(state.jobs.get("job_1")?.members[0]?.nodeId).toBe("node_a");
    // node_a falls silent: its attempt is lost (no retries left), and the standing bars it.
    poll(state, "node_b", "b", clock.now());
    for (let i = 0; i < 6; i++) state.sweep(clock.advance(1000));
    expect(
      standing.events.some((e) => e.kind === "attempt" && e.end === "lost" && e.nodeId === "node_a"),
    ).toBe(true);
    expect(state.jobs.has("job_1")).toBe(false);
    // node_a comes back, cheaper than node_b, but barred: the next job goes to node_b.
    poll(state, "node_a", "a", clock.now());
    state.submit(gpuJob("job_2", clock.now(), { strategy: "cheapest" }), clock.now());
    expect(state.jobs.get("job_2")?.members[0]?.nodeId).toBe("node_b");
    // Lifted: the state hears of it, and node_a takes the next job.
    standing.barred.delete("node_a");
    state.standingChanged(["node_a"], clock.now());
    state.submit(gpuJob("job_3", clock.now(), { strategy: "cheapest" }), clock.now());
    expect(state.jobs.get("job_3")?.members[0]?.nodeId).toBe("node_a");
  });

  it("comes back from its snapshot with the reservation held and its nodes waiting for a poll", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a"), clock.now());
    state.submit(gpuJob("job_1", clock.now()), clock.now());
    state.submit(gpuJob("job_2", clock.now()), clock.now());
    const restarted = region(clock, new RecordingStanding(), {
      fencing: 1,
      nodes: [...state.nodes.values()],
      jobs: [...state.jobs.values()].map((job) => structuredClone(job)),
    });
    expect(restarted.isLive("node_a", clock.now())).toBe(false);
    const member = restarted.jobs.get("job_1")?.members[0];
    if (!member) throw new Error("the placement did not survive");
    // A lease, and the agents' longest retry gap to find the restarted region.
    expect(restarted.leases.get(member.id)).toBe(clock.now() + TIMING.leaseTtlMs + AGENT_RETRY_CAP_MS);
    // The node polls again: its GPU is still held by job_1, so job_2 keeps waiting.
    restarted.heartbeat(
      "node_a",
      true,
      [{ attemptId: member.id, fencing: member.fencing }],
      undefined,
      clock.now(),
    );
    expect(restarted.jobs.get("job_2")?.status).toBe("queued");
    // Restoring staged nothing to write.
    expect(restarted.drainEffects().puts.size).toBe(0);
  });
});

describe("failover on the region's state machine", () => {
  const placedOn = (state: ReturnType<typeof region>, jobId: string) => state.jobs.get(jobId)?.members[0];

  it("loses a dropped node's attempt once the reconnect window passes, and places the job elsewhere at once", () => {
    const clock = new FakeClock();
    const standing = new RecordingStanding();
    const state = region(clock, standing);
    state.registerNode(gpuNode("node_a", 500_000), clock.now());
    state.registerNode(gpuNode("node_b", 2_000_000), clock.now());
    state.submit(gpuJob("job_1", clock.now(), { strategy: "cheapest" }), clock.now());
    const member = placedOn(state, "job_1");
    if (!member) throw new Error("not placed");
    expect(member.nodeId).toBe("node_a");
    poll(state, "node_a", "poll-1", clock.advance(100), [{ attemptId: member.id, fencing: member.fencing }]);
    poll(state, "node_b", "poll-2", clock.now());
    expect(state.pollDropped("node_a", "poll-1", clock.advance(1_000))).toBe(true);
    // The alarm is asked to wake when the window ends.
    const window = TIMING.reconnectWindowMs;
    expect(state.nextWakeAt(clock.now())).toBe(clock.now() + Math.min(window, TIMING.sweepMs));
    state.sweep(clock.advance(window - 1));
    expect(state.jobs.get("job_1")?.status).toBe("assigned");
    state.sweep(clock.advance(1));
    const retried = placedOn(state, "job_1");
    expect(retried?.nodeId).toBe("node_b");
    expect(state.jobs.get("job_1")?.retryAt).toBeNull();
    const lost = state.drainEffects().outbox.find((e) => e.kind === "transition" && e.status === "lost");
    expect(lost?.kind === "transition" && lost.reason).toBe(
      `connection to node node_a dropped and did not return within ${window / 1000} s`,
    );
    // The node comes back: its old attempt is told to stop, and it counts a flap.
    state.pollOpened("node_a", "poll-3", clock.advance(500));
    expect(
      state.heartbeat(
        "node_a",
        true,
        [{ attemptId: member.id, fencing: member.fencing }],
        undefined,
        clock.now(),
      ),
    ).toEqual([{ attemptId: member.id, reason: "unknown_attempt" }]);
    expect(standing.events.some((e) => e.kind === "flap" && e.nodeId === "node_a")).toBe(true);
  });

  it("keeps the attempts of a node that drops and comes back within the window", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a"), clock.now());
    state.submit(gpuJob("job_1", clock.now()), clock.now());
    const member = state.jobs.get("job_1")?.members[0];
    if (!member) throw new Error("not placed");
    const running = [{ attemptId: member.id, fencing: member.fencing }];
    poll(state, "node_a", "poll-1", clock.advance(100), running);
    state.pollDropped("node_a", "poll-1", clock.advance(1_000));
    poll(state, "node_a", "poll-2", clock.advance(TIMING.reconnectWindowMs - 1_000), running);
    state.sweep(clock.advance(6_000));
    expect(state.jobs.get("job_1")?.status).toBe("assigned");
  });

  it("catches a partitioned node by its silence after an answered poll, saying how silent", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a", 500_000), clock.now());
    state.registerNode(gpuNode("node_b", 2_000_000), clock.now());
    state.submit(gpuJob("job_1", clock.now(), { strategy: "cheapest" }), clock.now());
    const member = placedOn(state, "job_1");
    if (!member) throw new Error("not placed");
    const running = [{ attemptId: member.id, fencing: member.fencing }];
    // Both nodes poll steadily: held 1 s, next poll 100 ms after each answer.
    for (let i = 0; i < 20; i++) {
      for (const node of ["node_a", "node_b"])
        poll(state, node, `${node}-${i}`, clock.now(), node === member.nodeId ? running : []);
      clock.advance(1_000);
      for (const node of ["node_a", "node_b"]) state.pollAnswered(node, `${node}-${i}`, clock.now());
      clock.advance(100);
    }
    // node_a is cut off: its last poll was answered, and nothing follows. node_b goes on.
    poll(state, "node_b", "node_b-x", clock.now());
    let lostAt = 0;
    for (let t = 0; t < 10_000 && lostAt === 0; t += 250) {
      state.sweep(clock.advance(250));
      if (placedOn(state, "job_1")?.nodeId === "node_b") lostAt = t + 250;
    }
    expect(lostAt).toBeGreaterThan(0);
    expect(lostAt).toBeLessThanOrEqual(TIMING.minSilenceMs + 500);
    const lost = state.drainEffects().outbox.find((e) => e.kind === "transition" && e.status === "lost");
    expect(lost?.kind === "transition" ? lost.reason : "").toMatch(
      /^node node_a silent for [\d.]+ s, \d+× its usual gap$/,
    );
  });
});
