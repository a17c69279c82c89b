import { describe, expect, it } from "vitest";
import type { Demand } from "../../src/durable/scheduler/index.js";
import {
  CONSTRAINT_REGISTRY,
  type ConstraintName,
  demandFromSpec,
  explain,
  POLICIES,
  SCORE_TERMS,
  Scheduler,
  type SchedulerNode,
  versionKey,
} from "../../src/durable/scheduler/index.js";
import { JobSpec } from "../../src/shared/job-spec.js";
import { demand, gpuNode } from "./nodes.js";

const NOW = 1_700_000_000_000;
const SPEC = JobSpec.parse({ name: "x", image: "busybox", resources: { gpus: 1 } });

/** Per constraint: a node that fails it and nothing else, a node that passes, and the demand. */
interface Case {
  bad: SchedulerNode;
  good: SchedulerNode;
  demand: Demand;
}

// A Record, so a constraint added to the registry without a case here does not typecheck.
const CASES: Record<ConstraintName, Case> = {
  excluded: {
    bad: gpuNode("bad"),
    good: gpuNode("good"),
    demand: demand({ constraints: { excludeNodes: new Set(["bad"]) } }),
  },
  offline: { bad: gpuNode("bad", { schedulable: false }), good: gpuNode("good"), demand: demand() },
  region: {
    bad: gpuNode("bad", { region: "us-east" }),
    good: gpuNode("good"),
    demand: demand({ constraints: { regions: ["eu-west"] } }),
  },
  country: {
    bad: gpuNode("bad", { country: "US" }),
    good: gpuNode("good", { country: "DE" }),
    demand: demand({ constraints: { countries: ["DE"] } }),
  },
  near: {
    bad: gpuNode("bad", { lat: 40.4, lon: -3.7 }),
    good: gpuNode("good", { lat: 48.9, lon: 2.35 }),
    demand: demand({ constraints: { near: { lat: 50.1, lon: 8.7, radiusKm: 600 } } }),
  },
  labels: {
    bad: gpuNode("bad", { labels: { fabric: "pcie" } }),
    good: gpuNode("good", { labels: { fabric: "nvlink" } }),
    demand: demand({ constraints: { requiredLabels: { fabric: "nvlink" } } }),
  },
  reputation: {
    bad: gpuNode("bad", { reputation: 0.5 }),
    good: gpuNode("good", { reputation: 0.95 }),
    demand: demand({ constraints: { minReputation: 0.8 } }),
  },
  bandwidth: {
    bad: gpuNode("bad", { bandwidthGbps: 1 }),
    good: gpuNode("good", { bandwidthGbps: 25 }),
    demand: demand({ constraints: { minBandwidthGbps: 10 } }),
  },
  price: {
    bad: gpuNode("bad", { pricePerGpuHourMicros: 3_000_000 }),
    good: gpuNode("good", { pricePerGpuHourMicros: 2_000_000 }),
    demand: demand({ constraints: { maxPricePerGpuHourMicros: 2_100_000 } }),
  },
  cpuPrice: {
    bad: gpuNode("bad", { gpuCount: 0, pricePerVcpuHourMicros: 20_000 }),
    good: gpuNode("good", { gpuCount: 0, pricePerVcpuHourMicros: 8_000 }),
    demand: demand({ gpus: 0, constraints: { maxPricePerVcpuHourMicros: 10_000 } }),
  },
  driver: {
    bad: gpuNode("bad", { driverVersion: "470.82.01" }),
    good: gpuNode("good"),
    demand: demand({ constraints: { minDriverVersion: versionKey("535.0") } }),
  },
  cuda: {
    bad: gpuNode("bad", { cudaVersion: "11.8" }),
    good: gpuNode("good", { cudaVersion: "12.4" }),
    demand: demand({ constraints: { minCudaVersion: versionKey("12.2") } }),
  },
  tflops: {
    bad: gpuNode("bad", { verifiedTflops: 20 }),
    good: gpuNode("good", { verifiedTflops: 80 }),
    demand: demand({ constraints: { minTflops: 50 } }),
  },
  attested: {
    bad: gpuNode("bad", { model: "H100-SXM", verifiedTflops: 790 }),
    good: gpuNode("good", { model: "H100-SXM", verifiedTflops: 790, attested: true }),
    demand: demand({ constraints: { requireAttested: true } }),
  },
  cpus: {
    bad: gpuNode("bad", { cpuMilli: 8000 }),
    good: gpuNode("good"),
    demand: demand({ cpuMilli: 16_000 }),
  },
  memory: {
    bad: gpuNode("bad", { memoryMib: 8 * 1024 }),
    good: gpuNode("good"),
    demand: demand({ memoryMib: 16 * 1024 }),
  },
  gpuCount: {
    bad: gpuNode("bad", { gpuCount: 1 }),
    good: gpuNode("good", { gpuCount: 2 }),
    demand: demand({ gpus: 2 }),
  },
  gpuModel: {
    bad: gpuNode("bad", { model: "RTX-4090" }),
    good: gpuNode("good", { model: "A100-80GB" }),
    demand: demand({ constraints: { gpuModels: ["A100-80GB"] } }),
  },
  tier: {
    bad: gpuNode("bad", { model: "RTX-4090" }),
    good: gpuNode("good", { model: "L40S" }),
    demand: demand({ constraints: { tiers: ["professional", "datacenter"] } }),
  },
  vram: {
    bad: gpuNode("bad", { model: "A100-40GB" }),
    good: gpuNode("good", { model: "A100-80GB" }),
    demand: demand({ constraints: { minVramMib: 80 * 1024 } }),
  },
  computeCapability: {
    bad: gpuNode("bad", { computeCapability: "7.5" }),
    good: gpuNode("good", { computeCapability: "9.0" }),
    demand: demand({ constraints: { minComputeCapability: versionKey("8.0") } }),
  },
};

function region(nodes: SchedulerNode[]): Scheduler {
  const scheduler = new Scheduler();
  for (const node of nodes) scheduler.inventory.upsertNode(node);
  return scheduler;
}

describe("the constraint registry", () => {
  it("names each constraint once, each with a fact, words, and a relaxation or the reason for none", () => {
    const names = CONSTRAINT_REGISTRY.map((record) => record.name);
    expect(new Set(names).size).toBe(names.length);
    expect(Object.keys(CASES).sort()).toEqual([...names].sort());
    for (const record of CONSTRAINT_REGISTRY) {
      expect(record.fact.reads.length, record.name).toBeGreaterThan(0);
      expect(record.fact.source.length, record.name).toBeGreaterThan(0);
      expect(record.says.length, record.name).toBeGreaterThan(0);
      // The fields it is checked for are the fields it reads from a spec.
      if (record.fromSpec)
        expect(Object.keys(record.fromSpec(SPEC)).sort(), record.name).toEqual([...record.keys].sort());
      if (record.field === "") expect(record.unrelaxable, record.name).toBeTruthy();
      else expect([record.relax, record.offers].every(Boolean), record.name).toBe(true);
    }
  });

  it.each(CONSTRAINT_REGISTRY.map((record) => [record.name, record] as const))(
    "%s: refuses the node that fails it, explains why and how to relax it",
    (name, record) => {
      const { bad, good, demand: asked } = CASES[name];
      expect(region([bad, good]).decide(asked)?.nodes[0]?.nodeId).toBe("good");
      expect(region([bad]).decide(asked)).toBeNull();
      const why = explain(region([bad]).inventory, asked, NOW);
      expect(why.failing).toEqual({ [name]: 1 });
      expect(why.binding).toBe(name);
      if (record.relax) {
        expect(why.relaxations[0]).toMatchObject({ constraint: name, field: record.field, nodes: 1 });
        expect(why.message).toContain(`1 fail ${name}`);
        expect(why.message).toContain(`nearest fix: ${why.relaxations[0]?.text}`);
      } else expect(why.relaxations).toEqual([]);
    },
  );

  it("builds a demand's constraints from the spec through the records", () => {
    const spec = JobSpec.parse({
      name: "x",
      image: "busybox",
      region: "eu-west",
      maxPricePerGpuHour: "2.50",
      resources: { gpus: 1, gpuModels: ["H100-SXM"], minVramGb: 80 },
      placement: { minCudaVersion: "12.2", countries: ["DE"], near: { lat: 1, lon: 2, radiusKm: 3 } },
    });
    expect(demandFromSpec(spec, ["lost"]).constraints).toMatchObject({
      regions: ["eu-west"],
      maxPricePerGpuHourMicros: 2_500_000,
      gpuModels: ["H100-SXM"],
      minVramMib: 80 * 1024,
      minCudaVersion: versionKey("12.2"),
      countries: ["DE"],
      near: { lat: 1, lon: 2, radiusKm: 3 },
      excludeNodes: new Set(["lost"]),
    });
  });
});

describe("score terms and policies", () => {
  it("every policy is a weighted list of registered terms, each with words and a normalisation", () => {
    for (const term of SCORE_TERMS) expect(term.says.length, term.name).toBeGreaterThan(0);
    for (const strategy of ["cheapest", "fastest", "reliable", "balanced"] as const) {
      for (const [policy, terms] of Object.entries(POLICIES)) {
        for (const { term, weight } of terms(demand({ strategy }))) {
          expect(SCORE_TERMS, `${policy} uses ${term.name}`).toContain(term);
          expect(Number.isFinite(weight) && weight !== 0).toBe(true);
        }
      }
    }
  });

  it("leads with the job's strategy: cheapest takes the cheaper node, fastest the faster", () => {
    const slowCheap = gpuNode("slow-cheap", { pricePerGpuHourMicros: 1_000_000, verifiedTflops: 40 });
    const fastDear = gpuNode("fast-dear", { pricePerGpuHourMicros: 3_000_000, verifiedTflops: 200 });
    const pick = (strategy: Demand["strategy"]) =>
      region([slowCheap, fastDear]).decide(demand({ strategy }))?.nodes[0]?.nodeId;
    expect(pick("cheapest")).toBe("slow-cheap");
    expect(pick("fastest")).toBe("fast-dear");
  });
});
