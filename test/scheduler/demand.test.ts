import { describe, expect, it } from "vitest";
import { demandFromSpec, specPriority, versionKey, versionText } from "../../src/durable/scheduler/index.js";
import { JobSpec } from "../../src/shared/job-spec.js";

const base = { name: "train", image: "ghcr.io/org/trainer:1.2" };

describe("demandFromSpec", () => {
  it("fills the defaults: balanced, priority 4, one node", () => {
    const spec = JobSpec.parse(base);
    const demand = demandFromSpec(spec);
    expect(demand).toMatchObject({
      gpus: 0,
      gpuMilli: 1000,
      cpuMilli: 1000,
      memoryMib: 1024,
      nodes: 1,
      strategy: "balanced",
    });
    expect(specPriority(spec)).toBe(4);
  });

  it("carries every placement constraint in scheduler units", () => {
    const spec = JobSpec.parse({
      ...base,
      resources: { gpus: 8, gpuModels: ["H100-SXM"], minVramGb: 80, cpus: 2.5, memoryGb: 0.5 },
      maxPricePerGpuHour: "2.10",
      strategy: "fastest",
      priority: 7,
      nodes: 4,
      placement: {
        regions: ["eu-west"],
        countries: ["DE"],
        near: { lat: 50, lon: 8, radiusKm: 500 },
        minComputeCapability: "9.0",
        minCudaVersion: "12.2",
        minDriverVersion: "535.104.05",
        minTflops: 500,
        minReputation: 0.8,
        minBandwidthGbps: 25,
        requiredLabels: { fabric: "nvlink" },
        forbiddenLabels: ["spot"],
        tiers: ["datacenter"],
      },
    });
    const demand = demandFromSpec(spec, ["node_lost"]);
    expect(demand).toMatchObject({ gpus: 8, cpuMilli: 2500, memoryMib: 512, nodes: 4, strategy: "fastest" });
    expect(demand.constraints).toMatchObject({
      gpuModels: ["H100-SXM"],
      minVramMib: 80 * 1024,
      maxPricePerGpuHourMicros: 2_100_000,
      minComputeCapability: versionKey("9.0"),
      minCudaVersion: versionKey("12.2"),
      minDriverVersion: versionKey("535.104.05"),
      regions: ["eu-west"],
      tiers: ["datacenter"],
    });
    expect(demand.constraints.excludeNodes?.has("node_lost")).toBe(true);
    expect(specPriority(spec)).toBe(7);
  });

  it("turns the single region field into a region constraint", () => {
    expect(demandFromSpec(JobSpec.parse({ ...base, region: "us-east" })).constraints.regions).toEqual([
      "us-east",
    ]);
  });
});

describe("contradictory specs are refused at submit", () => {
  it.each([
    [
      { resources: { gpus: 1, minVramGb: 500 } },
      "minVramGb 500 is above every catalogued GPU (largest: MI300X with 192 GB)",
    ],
    [
      { resources: { gpus: 1, gpuModels: ["RTX-4090"], minVramGb: 40 } },
      "above every allowed GPU (largest: RTX-4090 with 24 GB)",
    ],
    [{ priority: 10 }, "priority must be 0..9"],
    [{ nodes: 65 }, "nodes is at most 64 per job"],
    [
      { resources: { gpus: 1, gpuModels: ["RTX-4090"] }, placement: { tiers: ["datacenter"] } },
      "none of gpuModels (RTX-4090) is of tier datacenter",
    ],
    [
      { region: "us-east", placement: { regions: ["eu-west"] } },
      'region "us-east" is not among placement.regions',
    ],
    [{ placement: { minTflops: 10 } }, "placement.minTflops needs at least one GPU"],
    [
      { placement: { requiredLabels: { spot: "no" }, forbiddenLabels: ["spot"] } },
      "label spot is both required and forbidden",
    ],
    [{ strategy: "fastest-please" }, "Invalid option"],
  ])("%j", (extra, message) => {
    const result = JobSpec.safeParse({ ...base, ...extra });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.message).join("\n")).toContain(message);
  });
});

describe("versions", () => {
  it("orders dotted versions and prints them back", () => {
    expect((versionKey("12.10") ?? 0) > (versionKey("12.2") ?? 0)).toBe(true);
    expect(versionKey("535.104.05")).toBeGreaterThan(versionKey("535.54") ?? 0);
    expect(versionKey("x.1")).toBeUndefined();
    expect(versionText(versionKey("8.0") ?? 0)).toBe("8.0");
    expect(versionText(versionKey("535.104.05") ?? 0)).toBe("535.104.5");
  });
});
