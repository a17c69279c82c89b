import { describe, expect, it } from "vitest";
import { Scheduler, type SchedulerNode, WHOLE_GPU_MILLI } from "../../src/durable/scheduler/index.js";
import { demand, gpuNode } from "./nodes.js";

function region(nodes: SchedulerNode[]): Scheduler {
  const scheduler = new Scheduler();
  for (const node of nodes) scheduler.inventory.upsertNode(node);
  return scheduler;
}

const market = [
  gpuNode("cheap", { pricePerGpuHourMicros: 300_000, verifiedTflops: 40, reputation: 0.6 }),
  gpuNode("fast", { pricePerGpuHourMicros: 2_500_000, verifiedTflops: 400, reputation: 0.7 }),
  gpuNode("trusted", { pricePerGpuHourMicros: 1_500_000, verifiedTflops: 80, reputation: 0.99 }),
  gpuNode("value", { pricePerGpuHourMicros: 500_000, verifiedTflops: 160, reputation: 0.9 }),
];

describe("strategies", () => {
  it.each([
    ["cheapest", "cheap"],
    ["fastest", "fast"],
    ["reliable", "trusted"],
    ["balanced", "value"],
  ] as const)("%s picks %s", (strategy, expected) => {
    expect(region(market).decide(demand({ strategy }))?.nodes[0]?.nodeId).toBe(expected);
  });

  it("ranks an unverified node as the slowest verified one", () => {
    const scheduler = region([
      gpuNode("unverified", { pricePerGpuHourMicros: 1_000_000 }),
      gpuNode("verified", { pricePerGpuHourMicros: 1_000_000, verifiedTflops: 100 }),
      gpuNode("slow", { pricePerGpuHourMicros: 1_000_000, verifiedTflops: 10 }),
    ]);
    expect(scheduler.decide(demand({ strategy: "fastest" }))?.nodes[0]?.nodeId).toBe("verified");
  });

  it("breaks ties by locality", () => {
    const scheduler = region([gpuNode("far", { rttMs: 80 }), gpuNode("near", { rttMs: 5 })]);
    expect(scheduler.decide(demand())?.nodes[0]?.nodeId).toBe("near");
  });
});

describe("fragmentation-aware packing", () => {
  it("keeps a whole 8-GPU node free by using the partly used one", () => {
    const scheduler = region([gpuNode("empty", { gpuCount: 8 }), gpuNode("used", { gpuCount: 8 })]);
    for (let index = 0; index < 8; index++) scheduler.profile.observe(demand({ gpus: 8 }));
    expect(scheduler.place("first", demand({ gpus: 2 }))?.nodes[0]?.nodeId).toBeDefined();
    const first = scheduler.inventory.reservation("first")?.allocations[0]?.nodeId;
    expect(scheduler.place("second", demand({ gpus: 2 }))?.nodes[0]?.nodeId).toBe(first);
    expect(scheduler.decide(demand({ gpus: 8 }))).not.toBeNull();
  });

  it("puts a GPU share on an already shared GPU rather than break a whole one", () => {
    const scheduler = region([gpuNode("n1", { gpuCount: 2 }), gpuNode("n2", { gpuCount: 1 })]);
    for (let index = 0; index < 4; index++) scheduler.profile.observe(demand({ gpus: 1 }));
    const share = demand({ gpus: 1, gpuMilli: 300 });
    scheduler.place("s1", share);
    scheduler.place("s2", share);
    scheduler.place("s3", share);
    const used = new Set(
      ["s1", "s2", "s3"].flatMap(
        (key) => scheduler.inventory.reservation(key)?.allocations[0]?.gpus[0]?.uuid ?? [],
      ),
    );
    expect(used.size).toBe(1);
    const whole = demand({ gpus: 1, gpuMilli: WHOLE_GPU_MILLI });
    expect(scheduler.place("w1", whole)).not.toBeNull();
    expect(scheduler.place("w2", whole)).not.toBeNull();
  });

  it("steers unrestricted jobs away from the model that restricted jobs need", () => {
    const scheduler = region([gpuNode("t4", { model: "L4" }), gpuNode("other", { model: "A10" })]);
    for (let index = 0; index < 10; index++)
      scheduler.profile.observe(demand({ constraints: { gpuModels: ["L4"] } }));
    expect(scheduler.place("any", demand())?.nodes[0]?.nodeId).toBe("other");
    expect(
      scheduler.place("needs-l4", demand({ constraints: { gpuModels: ["L4"] } }))?.nodes[0]?.nodeId,
    ).toBe("t4");
  });

  it("baselines: first-fit takes the first node, best-fit the fullest", () => {
    const nodes = [gpuNode("a", { gpuCount: 4 }), gpuNode("b", { gpuCount: 2 })];
    const first = new Scheduler({ policy: "firstFit" });
    const best = new Scheduler({ policy: "bestFit" });
    for (const node of nodes) {
      first.inventory.upsertNode(node);
      best.inventory.upsertNode(node);
    }
    expect(first.decide(demand())?.nodes[0]?.nodeId).toBe("a");
    expect(best.decide(demand())?.nodes[0]?.nodeId).toBe("b");
  });
});
