import { describe, expect, it } from "vitest";
import { RegionStanding } from "../../src/durable/node-standing.js";
import type { RegionState } from "../../src/durable/region-state.js";
import { ReputationBook } from "../../src/durable/reputation/index.js";
import { VerificationDesk } from "../../src/durable/verification-desk.js";
import { FakeClock, gpuJob, gpuNode, poll, region } from "./region-support.js";

// How a loss of a node counts against it, on the region's state machine with the real reputation
// book: one host incident is one failure however many attempts it took, a restart of the region
// itself costs the nodes nothing, and a quarantined node takes work again once its quarantine ends.

const QUARANTINE_MS = 10 * 60_000;

function standing(book = new ReputationBook({ quarantineMs: QUARANTINE_MS })): RegionStanding {
  return new RegionStanding(book, VerificationDesk.from({}, { requireVerified: false }), false);
}

/** A CPU job (a node runs many at once) kept off the nodes named, with no retries. */
function cpuJob(id: string, now: number, keptOff: string[] = []) {
  const job = gpuJob(id, now, { resources: { gpus: 0, cpus: 1, memoryGb: 1 }, maxRetries: 0 });
  job.excludedNodes = keptOff;
  return job;
}

function running(state: RegionState, nodeId: string): { attemptId: string; fencing: number }[] {
  return [...state.jobs.values()].flatMap((job) =>
    job.members
      .filter((m) => m.nodeId === nodeId && m.endedAt === null)
      .map((m) => ({ attemptId: m.id, fencing: m.fencing })),
  );
}

/** The node polls once, its poll answered at once: it is back, with what it runs. */
function polled(state: RegionState, clock: FakeClock, nodeId: string, token: string): void {
  poll(state, nodeId, token, clock.now(), running(state, nodeId));
  state.pollAnswered(nodeId, token, clock.now());
}

/**
 * node_a's held poll drops (its agent died) and it does not come back within the reconnect window,
 * while node_b, if there, keeps polling: one incident of node_a.
 */
function dies(state: RegionState, clock: FakeClock, round: number): void {
  poll(state, "node_a", `a-${round}-held`, clock.now(), running(state, "node_a"));
  state.pollDropped("node_a", `a-${round}-held`, clock.advance(100));
  for (let i = 0; i < 7; i++) {
    clock.advance(1_000);
    if (state.nodes.has("node_b")) polled(state, clock, "node_b", `b-${round}-${i}`);
    state.sweep(clock.now());
  }
}

describe("what one loss of a node costs it", () => {
  it("counts one incident that lost 5 attempts as one failure, and three incidents as a quarantine", () => {
    const clock = new FakeClock();
    const rep = standing();
    const state = region(clock, rep);
    state.registerNode(gpuNode("node_a"), clock.now());
    state.registerNode(gpuNode("node_b"), clock.now());
    for (let round = 1; round <= 3; round++) {
      polled(state, clock, "node_a", `a-${round}`);
      for (let i = 0; i < 5; i++)
        state.submit(cpuJob(`job_${round}_${i}`, clock.now(), ["node_b"]), clock.now());
      expect(running(state, "node_a")).toHaveLength(5);
      dies(state, clock, round);
      expect(running(state, "node_a")).toEqual([]);
      const view = rep.book.view("node_a", clock.now());
      expect(view.totals.lost).toBe(5 * round);
      // Each incident is one failure: the third quarantines, not the first (as 5 per-attempt counts would).
      expect(view.status).toBe(round < 3 ? "active" : "quarantined");
      expect(view.totals.quarantines).toBe(round < 3 ? 0 : 1);
      expect(view.totals.expulsions).toBe(0);
    }
    expect(rep.book.view("node_a", clock.now()).reason).toBe("3 attempts lost within 60 minutes");
    // The node that kept polling lost nothing.
    expect(rep.book.view("node_b", clock.now()).totals.lost).toBe(0);
  });

  it("holds nothing against nodes after the region itself restarted, and keeps their running attempts", () => {
    const clock = new FakeClock();
    const rep = standing();
    const state = region(clock, rep);
    state.registerNode(gpuNode("node_a"), clock.now());
    state.registerNode(gpuNode("node_b"), clock.now());
    for (let i = 0; i < 3; i++) state.submit(cpuJob(`job_a${i}`, clock.now(), ["node_b"]), clock.now());
    for (let i = 0; i < 3; i++) state.submit(cpuJob(`job_b${i}`, clock.now(), ["node_a"]), clock.now());
    polled(state, clock, "node_a", "a-0");
    polled(state, clock, "node_b", "b-0");
    const before = { a: rep.book.view("node_a", clock.now()), b: rep.book.view("node_b", clock.now()) };
    const onA = running(state, "node_a");
    const onB = running(state, "node_b");
    expect([onA.length, onB.length]).toEqual([3, 3]);

    // The region restarts on its stored state (the same reputation records).
    clock.advance(2_000);
    const restartedRep = standing(ReputationBook.from(rep.book.toJSON(), { quarantineMs: QUARANTINE_MS }));
    const restarted = region(clock, restartedRep, {
      fencing: 6,
      nodes: [...state.nodes.values()],
      // Kept apart to place them; after the restart any node may take them.
      jobs: [...state.jobs.values()].map((job) => ({ ...structuredClone(job), excludedNodes: [] })),
    });
    // node_a's presence socket is back at once, but its poll loop is out in a long backoff; its
    // socket even drops once more. Neither its silence nor the drop loses its attempts...
    restarted.heard("node_a", clock.now());
    restarted.connectionLost("node_a", clock.advance(500));
    for (let i = 0; i < 20; i++) restarted.sweep(clock.advance(1_000));
    expect(running(restarted, "node_a")).toEqual(onA);
    // ...and when it polls, it keeps them all, and its drop counts no flap.
    expect(poll(restarted, "node_a", "a-1", clock.now(), onA)).toEqual([]);
    expect(restartedRep.book.view("node_a", clock.now()).totals).toEqual(before.a.totals);
    expect(restartedRep.book.view("node_a", clock.now()).reason).toBeUndefined();

    // node_b never comes back: its attempts are lost once their restored leases lapse (a lease
    // and the agents' longest retry gap), at no cost to its reputation or to the jobs' retries.
    for (let i = 0; i < 80; i++) {
      clock.advance(1_000);
      polled(restarted, clock, "node_a", `a-2-${i}`);
      restarted.sweep(clock.now());
    }
    expect(running(restarted, "node_b")).toEqual([]);
    const b = restartedRep.book.view("node_b", clock.now());
    expect(b.totals).toEqual(before.b.totals);
    expect(b.status).toBe("active");
    // Their jobs were placed again, on node_a, though they allow no retry: the loss spent none.
    for (let i = 0; i < 3; i++) {
      const job = restarted.jobs.get(`job_b${i}`);
      expect(job?.status).toBe("assigned");
      expect(job?.members[0]?.nodeId).toBe("node_a");
      expect(job?.attempts).toBe(1);
    }
  });

  it("counts a node's losses again once it has been back after the restart", () => {
    const clock = new FakeClock();
    const rep = standing();
    const state = region(clock, rep);
    state.registerNode(gpuNode("node_a"), clock.now());
    state.registerNode(gpuNode("node_b"), clock.now());
    const restarted = region(clock, rep, { fencing: 0, nodes: [...state.nodes.values()], jobs: [] });
    polled(restarted, clock, "node_a", "a-0");
    polled(restarted, clock, "node_b", "b-0");
    restarted.submit(cpuJob("job_1", clock.now(), ["node_b"]), clock.now());
    expect(running(restarted, "node_a")).toHaveLength(1);
    dies(restarted, clock, 1);
    expect(rep.book.view("node_a", clock.now()).totals.lost).toBe(1);
  });

  it("gives a quarantined node work again when its quarantine ends", () => {
    const clock = new FakeClock();
    const rep = standing();
    const state = region(clock, rep);
    state.registerNode(gpuNode("node_a"), clock.now());
    for (let i = 0; i < 3; i++) {
      polled(state, clock, "node_a", `a-${i}`);
      state.submit(cpuJob(`lost_${i}`, clock.now()), clock.now());
      dies(state, clock, i);
      expect(running(state, "node_a")).toEqual([]);
    }
    expect(rep.book.status("node_a", clock.now())).toBe("quarantined");
    const until = rep.book.nextChangeAt(clock.now());
    expect(until).toBeDefined();

    // Quarantined, it polls on but gets nothing; the job waits for it.
    state.submit(cpuJob("waiting", clock.now()), clock.now());
    polled(state, clock, "node_a", "q-0");
    expect(state.jobs.get("waiting")?.status).toBe("queued");
    // The alarm wakes at the quarantine's end (region-object arms it at `nextChangeAt`); the
    // sweep then indexes the node again and the job is placed on it.
    clock.at = (until ?? 0) + 1;
    polled(state, clock, "node_a", "q-1");
    state.sweep(clock.now());
    expect(rep.book.status("node_a", clock.now())).toBe("active");
    expect(state.jobs.get("waiting")?.status).toBe("assigned");
    expect(state.jobs.get("waiting")?.members[0]?.nodeId).toBe("node_a");
  });
});
