/**
 * The synthetic region and job mix of bench:scheduler, shared by its single-object and sharded
 * measurements so both see the same nodes and jobs.
 */

import { performance } from "node:perf_hooks";
import type { Demand, SchedulerNode } from "../src/durable/scheduler/index.js";
import { WHOLE_GPU_MILLI } from "../src/durable/scheduler/index.js";
import { gpuModelById } from "../src/shared/gpu-catalog.js";

const pick = <T>(rng: () => number, weighted: readonly (readonly [T, number])[]): T => {
  const total = weighted.reduce((sum, [, weight]) => sum + weight, 0);
  let roll = rng() * total;
  for (const [value, weight] of weighted) {
    roll -= weight;
    if (roll <= 0) return value;
  }
  const last = weighted[weighted.length - 1];
  if (!last) throw new Error("empty choice");
  return last[0];
};

/**
 * The mix of a decentralised region: mostly consumer cards in 1-2 GPU hosts, professional cards
 * in small servers, datacenter parts in 8-GPU servers. Prices (USD per GPU-hour) and dense
 * TFLOP/s are round figures of public rental markets and datasheets; only their ordering matters.
 */
const MODELS = [
  ["RTX-3060", 6, 0.08, 13, [1, 1, 2]],
  ["RTX-3080", 5, 0.12, 30, [1, 2]],
  ["RTX-3090", 10, 0.2, 35, [1, 2, 4]],
  ["RTX-4070", 5, 0.12, 29, [1, 2]],
  ["RTX-4080", 5, 0.2, 48, [1, 2]],
  ["RTX-4090", 16, 0.35, 82, [1, 2, 4, 8]],
  ["RTX-5090", 4, 0.6, 104, [1, 2, 4]],
  ["A10", 4, 0.3, 31, [1, 4]],
  ["A40", 3, 0.4, 37, [2, 4, 8]],
  ["L4", 4, 0.3, 30, [1, 2, 4, 8]],
  ["L40S", 5, 0.8, 91, [4, 8]],
  ["A100-40GB", 5, 1.0, 78, [4, 8]],
  ["A100-80GB", 9, 1.4, 78, [8]],
  ["H100-PCIE", 3, 2.0, 204, [4, 8]],
  ["H100-SXM", 10, 2.5, 267, [8]],
  ["H200", 3, 3.2, 267, [8]],
  ["B200", 1, 5.0, 450, [8]],
  ["MI250", 1, 1.2, 90, [4, 8]],
  ["MI300X", 1, 2.6, 330, [8]],
] as const;

const COUNTRIES = ["DE", "FR", "NL", "GB", "PL", "SE", "ES", "IT"] as const;

export function syntheticNodes(count: number, rng: () => number): SchedulerNode[] {
  const nodes: SchedulerNode[] = [];
  const weights = MODELS.map((entry) => [entry, entry[1]] as const);
  let site = 0;
  let siteLeft = 0;
  for (let index = 0; index < count; index++) {
    const [model, , price, tflops, counts] = pick(rng, weights);
    const gpuCount = counts[Math.floor(rng() * counts.length)] ?? 1;
    const catalog = gpuModelById(model);
    const datacenter = catalog?.tier !== "consumer";
    // Servers sit in sites of 8-32 nodes; consumer hosts mostly stand alone.
    if (siteLeft <= 0) {
      site++;
      siteLeft = 8 + Math.floor(rng() * 24);
    }
    siteLeft--;
    const lat = 40 + rng() * 20;
    const lon = -5 + rng() * 30;
    nodes.push({
      id: `node_${index.toString().padStart(6, "0")}`,
      region: "eu-west",
      gpus: Array.from({ length: gpuCount }, (_, gpu) => ({
        uuid: `GPU-${index}-${gpu}`,
        model,
        vramMib: (catalog?.vramGb ?? 16) * 1024,
        computeCapability: datacenter ? "9.0" : "8.9",
      })),
      cpuMilli: gpuCount * 16_000,
      memoryMib: gpuCount * 64 * 1024,
      driverVersion: rng() < 0.8 ? "550.54.14" : "535.104.05",
      cudaVersion: rng() < 0.8 ? "12.4" : "12.2",
      pricePerGpuHourMicros: Math.round(price * (0.8 + rng() * 0.5) * 1_000_000),
      labels: datacenter ? { site: `site-${site}` } : {},
      site: datacenter ? `site-${site}` : undefined,
      country: COUNTRIES[Math.floor(rng() * COUNTRIES.length)],
      lat,
      lon,
      rttMs: 5 + rng() * 40,
      bandwidthGbps: datacenter ? 10 + Math.floor(rng() * 90) : 0.5 + rng() * 2,
      reputation: 0.5 + rng() * 0.5,
      verifiedTflops: rng() < 0.7 ? tflops * (0.9 + rng() * 0.15) : undefined,
      schedulable: true,
    });
  }
  return nodes;
}

const STRATEGIES = ["balanced", "cheapest", "fastest", "reliable"] as const;

export function singleJob(rng: () => number): Demand {
  const gpus = pick(rng, [
    [0, 5],
    [1, 60],
    [2, 15],
    [4, 10],
    [8, 10],
  ] as const);
  const constraints: Demand["constraints"] = {};
  if (gpus > 0 && rng() < 0.3) {
    constraints.gpuModels = pick(rng, [
      [["H100-SXM", "H200"], 3],
      [["A100-80GB", "H100-SXM"], 3],
      [["RTX-4090"], 3],
      [["RTX-3090", "RTX-4090", "A10", "L4"], 3],
    ] as const);
  }
  if (gpus > 0 && rng() < 0.2)
    constraints.minVramMib =
      pick(rng, [
        [24, 3],
        [40, 2],
        [80, 1],
      ] as const) * 1024;
  if (gpus > 0 && rng() < 0.2)
    constraints.maxPricePerGpuHourMicros = Math.round((0.3 + rng() * 2.5) * 1_000_000);
  if (rng() < 0.1) constraints.minReputation = 0.7;
  if (rng() < 0.05) constraints.countries = ["DE", "NL"];
  return {
    gpus,
    gpuMilli: WHOLE_GPU_MILLI,
    cpuMilli: Math.max(1, gpus) * 4000,
    memoryMib: Math.max(1, gpus) * 16 * 1024,
    nodes: 1,
    strategy: STRATEGIES[Math.floor(rng() * STRATEGIES.length)] ?? "balanced",
    constraints,
  };
}

export function gangJob(rng: () => number): Demand {
  const gpus = pick(rng, [
    [8, 6],
    [4, 2],
    [2, 1],
  ] as const);
  return {
    gpus,
    gpuMilli: WHOLE_GPU_MILLI,
    cpuMilli: gpus * 8000,
    memoryMib: gpus * 32 * 1024,
    nodes: 8,
    strategy: "balanced",
    constraints: rng() < 0.5 ? { minVramMib: 80 * 1024 } : {},
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

export interface Measured {
  decisions: number;
  placed: number;
  placementsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** One object's scheduler, or a sharded region's coordinator: what a measurement drives. */
export interface Placer {
  place(key: string, demand: Demand, meta: { accountId: string }): object | null;
  release(key: string): unknown;
}

/**
 * Runs `decisions` placements against a region kept at about `utilisation` of its GPUs: each
 * placed job is held, and random held jobs are released (untimed) whenever the region is fuller.
 */
export function measure(
  scheduler: Placer,
  totalGpus: number,
  decisions: number,
  makeJob: (rng: () => number) => Demand,
  rng: () => number,
  utilisation: number,
  prefix: string,
): Measured {
  const held: { key: string; gpus: number }[] = [];
  let heldGpus = 0;
  const times: number[] = [];
  let placed = 0;
  let busy = 0;
  for (let index = 0; index < decisions; index++) {
    const job = makeJob(rng);
    const key = `${prefix}${index}`;
    const start = performance.now();
    const placement = scheduler.place(key, job, { accountId: `acct_${index % 50}` });
    const elapsed = performance.now() - start;
    busy += elapsed;
    times.push(elapsed);
    if (placement) {
      placed++;
      held.push({ key, gpus: job.gpus * job.nodes });
      heldGpus += job.gpus * job.nodes;
    }
    while (heldGpus > totalGpus * utilisation && held.length > 0) {
      const victim = Math.floor(rng() * held.length);
      const [gone] = held.splice(victim, 1);
      if (!gone) break;
      scheduler.release(gone.key);
      heldGpus -= gone.gpus;
    }
  }
  for (const entry of held) scheduler.release(entry.key);
  times.sort((a, b) => a - b);
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return {
    decisions,
    placed,
    placementsPerSecond: Math.round(decisions / (busy / 1000)),
    p50Ms: round(percentile(times, 50)),
    p99Ms: round(percentile(times, 99)),
    maxMs: round(times[times.length - 1] ?? 0),
  };
}
