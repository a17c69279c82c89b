import { describe, expect, it } from "vitest";
import type { RegionState } from "../../src/durable/region-state.js";
import { FakeClock, gpuJob, gpuNode, poll, region, TIMING } from "./region-support.js";

// A node waiting for the region's answer is not silent. Under a burst a report's answer waits for
// the D1 flush behind everyone else's records; the region used to count that wait as the node's
// silence and lose all its attempts (bench:burst: 522 of 554 losses, "silent for … its usual gap").

function live(state: RegionState, nodeId: string): { attemptId: string; fencing: number }[] {
  return [...state.jobs.values()].flatMap((job) =>
    job.members
      .filter((m) => m.nodeId === nodeId && m.endedAt === null)
      .map((m) => ({ attemptId: m.id, fencing: m.fencing })),
  );
}

/** A region with node_a running one started job (its poll answered), and node_b idle. */
function running(clock: FakeClock): { state: RegionState; attempt: { attemptId: string; fencing: number } } {
  const state = region(clock);
  state.registerNode(gpuNode("node_a"), clock.now());
  poll(state, "node_a", "a-0", clock.now());
  state.pollAnswered("node_a", "a-0", clock.now());
  state.submit(gpuJob("job_1", clock.now()), clock.now());
  const [attempt] = live(state, "node_a");
  if (!attempt) throw new Error("job_1 was not placed on node_a");
  const job = state.jobs.get("job_1");
  const member = job?.members[0];
  if (!job || !member) throw new Error("no member");
  state.report(
    job,
    member,
    { type: "started", fencing: attempt.fencing, at: clock.now(), containerId: "c" },
    clock.now(),
  );
  return { state, attempt };
}

describe("a node the region owes an answer", () => {
  it("keeps its presence and its leases however long the answer takes", () => {
    const clock = new FakeClock();
    const { state, attempt } = running(clock);
    // A report arrives and its answer takes three lease lifetimes (the sweep runs meanwhile).
    state.requestOpened("node_a", "report-1", clock.now());
    for (let waited = 0; waited < 3 * TIMING.leaseTtlMs; waited += 1_000) state.sweep(clock.advance(1_000));
    expect(live(state, "node_a")).toEqual([attempt]);
    state.requestAnswered("node_a", "report-1", clock.now());
    // Silence counts from the answer: the node then polls within its usual gap and keeps it.
    state.sweep(clock.advance(500));
    poll(state, "node_a", "a-1", clock.now(), [attempt]);
    state.pollAnswered("node_a", "a-1", clock.now());
    expect(live(state, "node_a")).toEqual([attempt]);
    expect(state.jobs.get("job_1")?.attempts).toBe(1);
  });

  it("owes a poll only until its heartbeat is saved: a held poll renews only the attempts it lists", () => {
    const clock = new FakeClock();
    const { state } = running(clock);
    // The agent forgot the attempt: its polls list nothing, held one after another.
    for (let round = 0; round * 1_000 < 3 * TIMING.leaseTtlMs && live(state, "node_a").length > 0; round++) {
      poll(state, "node_a", `held-${round}`, clock.now());
      state.pollHeld("node_a", `held-${round}`);
      state.sweep(clock.advance(900));
      state.pollAnswered("node_a", `held-${round}`, clock.now());
      clock.advance(100);
    }
    expect(live(state, "node_a")).toEqual([]);
  });

  it("is taken for gone once silent after the answer, as before", () => {
    const clock = new FakeClock();
    const { state } = running(clock);
    state.requestOpened("node_a", "report-1", clock.now());
    state.sweep(clock.advance(20_000));
    state.requestAnswered("node_a", "report-1", clock.now());
    for (let i = 0; i < 3 * TIMING.leaseTtlMs; i += 1_000) state.sweep(clock.advance(1_000));
    expect(live(state, "node_a")).toEqual([]);
  });
});
