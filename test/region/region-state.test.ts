import { describe, expect, it } from "vitest";
import { STORAGE_KEYS } from "../../src/durable/storage-keys.js";
import { FakeClock, gpuJob, gpuNode, RecordingStanding, region, TIMING } from "./region-support.js";

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

  it("keeps a lease while the node polls, and loses the attempt once it stops, placing it elsewhere after the backoff", () => {
    const clock = new FakeClock();
    const state = region(clock);
    state.registerNode(gpuNode("node_a", 500_000), clock.now());
    state.registerNode(gpuNode("node_b", 2_000_000), clock.now());
    state.submit(gpuJob("job_1", clock.now(), { strategy: "cheapest" }), clock.now());
    const member = state.jobs.get("job_1")?.members[0];
    if (!member) throw new Error("not placed");
    const running = [{ attemptId: member.id, fencing: member.fencing }];
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      state.heartbeat(member.nodeId, true, running, undefined, clock.now());
      state.heartbeat(member.nodeId === "node_a" ? "node_b" : "node_a", true, [], undefined, clock.now());
      state.sweep(clock.now());
    }
    expect(state.jobs.get("job_1")?.status).toBe("assigned");
    const other = member.nodeId === "node_a" ? "node_b" : "node_a";
    // The node falls silent; the other keeps polling.
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      state.heartbeat(other, true, [], undefined, clock.now());
      state.sweep(clock.now());
    }
    const job = state.jobs.get("job_1");
    expect(job?.status).toBe("queued");
    expect(job?.retryAt).not.toBeNull();
    expect(job?.avoidedNodes).toEqual([member.nodeId]);
    // A report from the lost attempt is no longer current.
    expect(state.currentAttempt(member.id, member.nodeId, member.fencing)).toBeUndefined();
    clock.advance(2_000);
    state.heartbeat(other, true, [], undefined, clock.now());
    state.sweep(clock.now());
    const retried = state.jobs.get("job_1");
    expect(retried?.status).toBe("assigned");
    expect(retried?.members[0]?.nodeId).toBe(other);
    expect(retried?.members[0]?.fencing).toBeGreaterThan(member.fencing);
    // Its old attempt, should the node come back with it, is told to stop.
    expect(state.heartbeat(member.nodeId, true, running, undefined, clock.now())).toEqual([
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
    for (let i = 0; i < 4; i++) {
      clock.advance(1000);
      state.heartbeat("node_b", true, [], undefined, clock.now());
      state.sweep(clock.now());
    }
    expect(
      standing.events.some((e) => e.kind === "attempt" && e.end === "lost" && e.nodeId === "node_a"),
    ).toBe(true);
    expect(state.jobs.has("job_1")).toBe(false);
    // node_a comes back, cheaper than node_b, but barred: the next job goes to node_b.
    state.heartbeat("node_a", true, [], undefined, clock.now());
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
    expect(restarted.leases.get(member.id)).toBe(clock.now() + TIMING.leaseTtlMs);
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
