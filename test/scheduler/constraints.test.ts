import { describe, expect, it } from "vitest";
import {
  type Constraints,
  Scheduler,
  type SchedulerNode,
  versionKey,
} from "../../src/durable/scheduler/index.js";
import { demand, gpuNode } from "./nodes.js";

/** Places a one-GPU job with `constraints` on a region of `nodes`: the id of the node it got. */
function placedOn(nodes: SchedulerNode[], constraints: Constraints, gpus = 1): string | undefined {
  const scheduler = new Scheduler();
  for (const node of nodes) scheduler.inventory.upsertNode(node);
  return scheduler.decide(demand({ gpus, constraints }))?.nodes[0]?.nodeId;
}

describe("hard constraints", () => {
  const cases: [string, SchedulerNode, SchedulerNode, Constraints, number?][] = [
    ["GPU count per node", gpuNode("bad", { gpuCount: 2 }), gpuNode("good", { gpuCount: 4 }), {}, 4],
    [
      "allowed models",
      gpuNode("bad", { model: "RTX-4090" }),
      gpuNode("good", { model: "A100-80GB" }),
      { gpuModels: ["A100-80GB", "H100-SXM"] },
    ],
    [
      "minimum VRAM",
      gpuNode("bad", { model: "A100-40GB" }),
      gpuNode("good", { model: "A100-80GB" }),
      { minVramMib: 80 * 1024 },
    ],
    [
      "compute capability",
      gpuNode("bad", { computeCapability: "7.5" }),
      gpuNode("good", { computeCapability: "9.0" }),
      { minComputeCapability: versionKey("8.0") },
    ],
    [
      "driver version",
      gpuNode("bad", { driverVersion: "470.82.01" }),
      gpuNode("good"),
      { minDriverVersion: versionKey("535.0") },
    ],
    [
      "CUDA version",
      gpuNode("bad", { cudaVersion: "11.8" }),
      gpuNode("good", { cudaVersion: "12.4" }),
      { minCudaVersion: versionKey("12.2") },
    ],
    [
      "verified TFLOP/s (unverified fails)",
      gpuNode("bad"),
      gpuNode("good", { verifiedTflops: 80 }),
      { minTflops: 50 },
    ],
    [
      "verified TFLOP/s (too slow fails)",
      gpuNode("bad", { verifiedTflops: 20 }),
      gpuNode("good", { verifiedTflops: 80 }),
      { minTflops: 50 },
    ],
    [
      "price cap",
      gpuNode("bad", { pricePerGpuHourMicros: 3_000_000 }),
      gpuNode("good", { pricePerGpuHourMicros: 2_000_000 }),
      { maxPricePerGpuHourMicros: 2_100_000 },
    ],
    ["regions", gpuNode("bad", { region: "us-east" }), gpuNode("good"), { regions: ["eu-west"] }],
    [
      "countries",
      gpuNode("bad", { country: "US" }),
      gpuNode("good", { country: "DE" }),
      { countries: ["DE", "FR"] },
    ],
    [
      "radius around a point",
      gpuNode("bad", { lat: 40.4, lon: -3.7 }),
      gpuNode("good", { lat: 48.9, lon: 2.35 }),
      { near: { lat: 50.1, lon: 8.7, radiusKm: 600 } },
    ],
    [
      "minimum reputation (none fails)",
      gpuNode("bad", { reputation: undefined }),
      gpuNode("good", { reputation: 0.95 }),
      { minReputation: 0.8 },
    ],
    [
      "minimum bandwidth",
      gpuNode("bad", { bandwidthGbps: 1 }),
      gpuNode("good", { bandwidthGbps: 25 }),
      { minBandwidthGbps: 10 },
    ],
    [
      "required labels",
      gpuNode("bad", { labels: { fabric: "pcie" } }),
      gpuNode("good", { labels: { fabric: "nvlink" } }),
      { requiredLabels: { fabric: "nvlink" } },
    ],
    [
      "forbidden label key",
      gpuNode("bad", { labels: { spot: "yes" } }),
      gpuNode("good"),
      { forbiddenLabels: ["spot"] },
    ],
    [
      "forbidden label value",
      gpuNode("bad", { labels: { os: "windows" } }),
      gpuNode("good", { labels: { os: "linux" } }),
      { forbiddenLabels: ["os=windows"] },
    ],
    [
      "tier",
      gpuNode("bad", { model: "RTX-4090" }),
      gpuNode("good", { model: "L40S" }),
      { tiers: ["professional", "datacenter"] },
    ],
    ["excluded nodes", gpuNode("bad"), gpuNode("good"), { excludeNodes: new Set(["bad"]) }],
  ];
  it.each(cases)("%s", (_name, bad, good, constraints, gpus) => {
    // The failing node is the cheaper one, so only the constraint keeps the job off it.
    const cheapBad = { ...bad, pricePerGpuHourMicros: Math.min(bad.pricePerGpuHourMicros, 500_000) };
    const keepPrice = constraints.maxPricePerGpuHourMicros !== undefined ? bad : cheapBad;
    expect(placedOn([keepPrice, good], constraints, gpus)).toBe("good");
    expect(placedOn([keepPrice], constraints, gpus)).toBeUndefined();
  });

  it("skips nodes that are offline", () => {
    expect(placedOn([gpuNode("down", { schedulable: false })], {})).toBeUndefined();
  });

  it("checks CPU and memory, totals and free", () => {
    const scheduler = new Scheduler();
    scheduler.inventory.upsertNode(gpuNode("n1", { gpuCount: 2, cpuMilli: 8000 }));
    expect(scheduler.decide(demand({ cpuMilli: 9000 }))).toBeNull();
    expect(scheduler.place("a", demand({ cpuMilli: 6000 }))).not.toBeNull();
    expect(scheduler.decide(demand({ cpuMilli: 4000 }))).toBeNull();
    expect(scheduler.decide(demand({ cpuMilli: 2000 }))).not.toBeNull();
  });
});
