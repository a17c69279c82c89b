import { describe, expect, it } from "vitest";
import { type Demand, type QueuedJob, Scheduler } from "../../src/durable/scheduler/index.js";
import { demand, fakeClock, gpuNode } from "./nodes.js";

let enqueued = 0;
function job(id: string, overrides: Partial<QueuedJob> & { demand?: Demand } = {}): QueuedJob {
  enqueued++;
  return {
    id,
    accountId: "acct_a",
    priority: 4,
    demand: demand(),
    enqueuedAt: enqueued,
    payload: undefined,
    ...overrides,
  };
}

const startedIds = (scheduler: Scheduler): string[] => scheduler.schedule().map((started) => started.job.id);

describe("queue order", () => {
  it("runs higher priority first, FIFO within a priority", () => {
    const scheduler = new Scheduler();
    scheduler.inventory.upsertNode(gpuNode("n1", { gpuCount: 3 }));
    scheduler.enqueue(job("low", { priority: 1 }));
    scheduler.enqueue(job("first"));
    scheduler.enqueue(job("urgent", { priority: 9 }));
    scheduler.enqueue(job("second"));
    expect(startedIds(scheduler)).toEqual(["urgent", "first", "second"]);
    expect(scheduler.queue.get("low")).toBeDefined();
  });

  it("shares capacity fairly: one account's flood does not starve another", () => {
    const scheduler = new Scheduler();
    scheduler.inventory.upsertNode(gpuNode("n1", { gpuCount: 4 }));
    for (let index = 0; index < 10; index++)
      scheduler.enqueue(job(`flood${index}`, { accountId: "acct_big" }));
    scheduler.enqueue(job("small1", { accountId: "acct_small" }));
    scheduler.enqueue(job("small2", { accountId: "acct_small" }));
    const started = startedIds(scheduler);
    expect(started).toHaveLength(4);
    expect(started).toEqual(expect.arrayContaining(["small1", "small2"]));
  });

  it("counts capacity an account already holds against it", () => {
    const scheduler = new Scheduler();
    scheduler.inventory.upsertNode(gpuNode("n1", { gpuCount: 4 }));
    scheduler.place("running", demand({ gpus: 3 }), { accountId: "acct_heavy" });
    scheduler.enqueue(job("heavy", { accountId: "acct_heavy" }));
    scheduler.enqueue(job("light", { accountId: "acct_light" }));
    expect(startedIds(scheduler)).toEqual(["light"]);
  });
});

describe("backfill", () => {
  it("lets a small job run ahead on capacity the blocked head job is not waiting for", () => {
    const clock = fakeClock();
    const scheduler = new Scheduler({ clock });
    scheduler.inventory.upsertNode(gpuNode("big", { gpuCount: 8 }));
    scheduler.inventory.upsertNode(gpuNode("small", { gpuCount: 1 }));
    scheduler.place("running", demand({ gpus: 4 }), { expectedEndAt: clock.now() + 3_600_000 });
    scheduler.enqueue(job("head", { demand: demand({ gpus: 8 }) }));
    scheduler.enqueue(job("filler", { demand: demand({ gpus: 1 }) }));
    expect(startedIds(scheduler)).toEqual(["filler"]);
    expect(scheduler.inventory.reservation("filler")?.allocations[0]?.nodeId).toBe("small");
  });

  it("does not let a small job take the held node unless it ends before the head can start", () => {
    const clock = fakeClock();
    const scheduler = new Scheduler({ clock });
    scheduler.inventory.upsertNode(gpuNode("big", { gpuCount: 8 }));
    scheduler.place("running", demand({ gpus: 4 }), { expectedEndAt: clock.now() + 3_600_000 });
    scheduler.enqueue(job("head", { demand: demand({ gpus: 8 }) }));
    scheduler.enqueue(job("long", { demand: demand({ gpus: 1 }), maxRunMs: 7_200_000 }));
    scheduler.enqueue(job("short", { demand: demand({ gpus: 1 }), maxRunMs: 600_000 }));
    expect(startedIds(scheduler)).toEqual(["short"]);
    scheduler.inventory.release("running");
    scheduler.inventory.release("short");
    clock.advance(3_600_000);
    expect(startedIds(scheduler)).toEqual(["head"]);
  });

  it("without backfill, lets anything that fits run (the baselines' greedy queue)", () => {
    const scheduler = new Scheduler({ backfill: false });
    scheduler.inventory.upsertNode(gpuNode("big", { gpuCount: 8 }));
    scheduler.place("running", demand({ gpus: 4 }));
    scheduler.enqueue(job("head", { demand: demand({ gpus: 8 }) }));
    scheduler.enqueue(job("long", { demand: demand({ gpus: 1 }) }));
    expect(startedIds(scheduler)).toEqual(["long"]);
  });

  it("never holds capacity for a job no node could ever take", () => {
    const scheduler = new Scheduler();
    scheduler.inventory.upsertNode(gpuNode("n1", { gpuCount: 2 }));
    scheduler.enqueue(job("impossible", { demand: demand({ gpus: 8 }) }));
    scheduler.enqueue(job("fine"));
    expect(startedIds(scheduler)).toEqual(["fine"]);
  });
});
