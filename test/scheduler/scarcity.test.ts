import { describe, expect, it } from "vitest";
import { Scheduler, type SchedulerNode } from "../../src/durable/scheduler/index.js";
import { demand, gpuNode } from "./nodes.js";

function region(nodes: SchedulerNode[]): Scheduler {
  const scheduler = new Scheduler();
  for (const node of nodes) scheduler.inventory.upsertNode(node);
  return scheduler;
}

describe("scarce models and host shapes", () => {
  it("keeps a scarce model for the jobs that can run nowhere else", () => {
    // Two T4s, eight A10s; a third of the workload can run on T4s only.
    const scheduler = region([
      gpuNode("t4", { model: "T4", gpuCount: 2 }),
      gpuNode("a10-1", { model: "A10", gpuCount: 4 }),
      gpuNode("a10-2", { model: "A10", gpuCount: 4 }),
    ]);
    for (let index = 0; index < 9; index++) {
      scheduler.profile.observe(demand({ constraints: index % 3 === 0 ? { gpuModels: ["T4"] } : {} }));
    }
    const placed = Array.from(
      { length: 8 },
      (_, index) => scheduler.place(`any-${index}`, demand())?.nodes[0]?.nodeId,
    );
    expect(placed.every((nodeId) => nodeId?.startsWith("a10"))).toBe(true);
    expect(scheduler.place("t4-only", demand({ constraints: { gpuModels: ["T4"] } }))?.nodes[0]?.nodeId).toBe(
      "t4",
    );
  });

  it("keeps the only host big enough for a large job free of small jobs", () => {
    const scheduler = region([
      gpuNode("big", { gpuCount: 8, cpuMilli: 128_000 }),
      gpuNode("small-1", { gpuCount: 8, cpuMilli: 96_000 }),
      gpuNode("small-2", { gpuCount: 8, cpuMilli: 96_000 }),
    ]);
    for (let index = 0; index < 8; index++) {
      scheduler.profile.observe(
        index % 4 === 0 ? demand({ gpus: 8, cpuMilli: 120_000 }) : demand({ gpus: 1, cpuMilli: 8_000 }),
      );
    }
    for (let index = 0; index < 6; index++) {
      expect(
        scheduler.place(`small-${index}`, demand({ gpus: 1, cpuMilli: 8_000 }))?.nodes[0]?.nodeId,
      ).not.toBe("big");
    }
    expect(scheduler.place("large", demand({ gpus: 8, cpuMilli: 120_000 }))?.nodes[0]?.nodeId).toBe("big");
  });

  it("does not strand a node's GPUs by taking its CPU", () => {
    // A CPU-only job fits on both; on the 2-GPU host it would leave too little CPU for its GPUs.
    const scheduler = region([
      gpuNode("lean", { gpuCount: 2, cpuMilli: 16_000 }),
      gpuNode("roomy", { gpuCount: 2, cpuMilli: 104_000 }),
    ]);
    for (let index = 0; index < 4; index++) scheduler.profile.observe(demand({ gpus: 1, cpuMilli: 8_000 }));
    expect(scheduler.place("cpu", demand({ gpus: 0, cpuMilli: 12_000 }))?.nodes[0]?.nodeId).toBe("roomy");
  });
});
