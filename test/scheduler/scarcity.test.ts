import { describe, expect, it } from "vitest";
import type { TaskClass } from "../../src/durable/scheduler/fragmentation.js";
import { Scheduler, type SchedulerNode } from "../../src/durable/scheduler/index.js";
import type { ModelCapacity } from "../../src/durable/scheduler/inventory.js";
import { modelPressure, rarityPrior } from "../../src/durable/scheduler/scarcity.js";
import { scarcity } from "../../src/durable/scheduler/score-terms/scarcity.js";
import { demand, gpuNode } from "./nodes.js";

function region(nodes: SchedulerNode[]): Scheduler {
  const scheduler = new Scheduler();
  for (const node of nodes) scheduler.inventory.upsertNode(node);
  return scheduler;
}

/** A workload of one-GPU jobs, a third of which can run on T4s only. */
function observeThirdOnT4(scheduler: Scheduler): void {
  for (let index = 0; index < 9; index++) {
    scheduler.profile.observe(demand({ constraints: index % 3 === 0 ? { gpuModels: ["T4"] } : {} }));
  }
}

/** Places `count` one-GPU jobs that may run anywhere; the node each went to. */
const placeAnywhere = (scheduler: Scheduler, count: number): (string | undefined)[] =>
  Array.from({ length: count }, (_, index) => scheduler.place(`any-${index}`, demand())?.nodes[0]?.nodeId);

describe("scarce models and host shapes", () => {
  it("keeps a scarce model for the jobs that can run nowhere else", () => {
    // Two T4s, eight A10s; a third of the workload can run on T4s only.
    const scheduler = region([
      gpuNode("t4", { model: "T4", gpuCount: 2 }),
      gpuNode("a10-1", { model: "A10", gpuCount: 4 }),
      gpuNode("a10-2", { model: "A10", gpuCount: 4 }),
    ]);
    observeThirdOnT4(scheduler);
    const placed = placeAnywhere(scheduler, 8);
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

  it("charges a scarce model's pressure for the GPUs a job takes and half for those it strands", () => {
    const scheduler = region([
      gpuNode("t4", { model: "T4", gpuCount: 2, cpuMilli: 16_000 }),
      gpuNode("a10", { model: "A10", gpuCount: 2, cpuMilli: 16_000 }),
    ]);
    const t4 = scheduler.inventory.node("t4");
    const a10 = scheduler.inventory.node("a10");
    if (!t4 || !a10) throw new Error("nodes missing");
    const pressure = new Map([["T4", 2]]);
    const on = (state: typeof t4, strandedDelta: number, gpuIndices: number[]) => ({
      state,
      group: gpuIndices.length > 0 ? state.groups[0] : undefined,
      gpuIndices,
      fragmentationDelta: 0,
      strandedDelta,
      score: 0,
    });
    const cpuOnly = { demand: demand({ gpus: 0 }), pressure, fallbackTflops: 1 };
    // A CPU-only job that strands one T4 spends half a T4 at pressure 2; on the A10 host, nothing.
    expect(scarcity.value(on(t4, 1000, []), cpuOnly)).toBeCloseTo(1);
    expect(scarcity.value(on(a10, 1000, []), cpuOnly)).toBe(0);
    expect(scarcity.value(on(t4, 0, []), cpuOnly)).toBe(0);
    // One T4 taken and half a T4 stranded: (1 + 0.5 x 0.5) x 2.
    const oneGpu = { demand: demand(), pressure, fallbackTflops: 1 };
    expect(scarcity.value(on(t4, 500, [0]), oneGpu)).toBeCloseTo(2.5);
    // A placement that frees stranded capacity is not paid for it.
    expect(scarcity.value(on(t4, -1000, [0]), oneGpu)).toBeCloseTo(2);
  });

  it("keeps a rare model nobody has asked for yet when the workload names models", () => {
    // Registered first and the tighter fit, the 2-GPU V100 host wins every tie; no job has named
    // V100, but a third of the demand names T4, so a model this rare may be the next one asked for.
    const scheduler = region([
      gpuNode("v100", { model: "V100", gpuCount: 2 }),
      gpuNode("t4", { model: "T4", gpuCount: 2 }),
      gpuNode("a10-1", { model: "A10", gpuCount: 4 }),
      gpuNode("a10-2", { model: "A10", gpuCount: 4 }),
    ]);
    observeThirdOnT4(scheduler);
    const placed = placeAnywhere(scheduler, 4);
    expect(placed.every((nodeId) => nodeId?.startsWith("a10"))).toBe(true);
  });

  it("adds no prior when no demand names a model", () => {
    const capacity = new Map<string, ModelCapacity>([
      ["V100", { freeMilli: 2_000, shapes: [{ gpus: 2, cpuMilli: 32_000, memoryMib: 131_072, count: 1 }] }],
      ["A10", { freeMilli: 8_000, shapes: [{ gpus: 4, cpuMilli: 32_000, memoryMib: 131_072, count: 1 }] }],
    ]);
    const any: TaskClass = {
      gpus: 1,
      gpuModels: undefined,
      gpuMilli: 1000,
      cpuMilli: 4_000,
      memoryMib: 8_192,
      weight: 1,
    };
    expect(modelPressure([any], capacity).size).toBe(0);
    expect(rarityPrior(0, capacity, 10_000).size).toBe(0);
    // A quarter of the demand names V100: both models carry the prior, the rarer one more.
    const prior = rarityPrior(0.25, capacity, 10_000);
    expect(prior.get("V100")).toBeCloseTo(0.25 * 0.8);
    expect(prior.get("A10")).toBeCloseTo(0.25 * 0.2);
    const pressure = modelPressure([any, { ...any, gpuModels: ["V100"], weight: 1 / 3 }], capacity);
    // V100: the named demand's own load (0.25 of the demand over 0.2 of the free) plus its prior.
    expect(pressure.get("V100")).toBeCloseTo(0.25 / 0.2 + 0.25 * 0.8);
    expect(pressure.get("A10")).toBeCloseTo(0.25 * 0.2);
  });
});
