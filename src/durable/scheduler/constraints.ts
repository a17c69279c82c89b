import { distanceKm } from "../../shared/regions.js";
import { type Demand, WHOLE_GPU_MILLI } from "./demand.js";
import type { GpuGroup, NodeState } from "./inventory.js";

/**
 * The hard constraints, each a bit, so a node's failures are one number: cheap to compute in the
 * placement loop, and enough for an explanation to count nodes per constraint and to find the
 * nodes that fail exactly one.
 */
export const CONSTRAINTS = [
  "excluded",
  "offline",
  "region",
  "country",
  "near",
  "labels",
  "reputation",
  "bandwidth",
  "price",
  "driver",
  "cuda",
  "tflops",
  "cpus",
  "memory",
  "gpuCount",
  "gpuModel",
  "tier",
  "vram",
  "computeCapability",
] as const;
export type ConstraintName = (typeof CONSTRAINTS)[number];

export const bit = (name: ConstraintName): number => 1 << CONSTRAINTS.indexOf(name);

/** The constraints set in `mask`, in declaration order. */
export function constraintNames(mask: number): ConstraintName[] {
  return CONSTRAINTS.filter((_, index) => (mask & (1 << index)) !== 0);
}

const B = {
  excluded: bit("excluded"),
  offline: bit("offline"),
  region: bit("region"),
  country: bit("country"),
  near: bit("near"),
  labels: bit("labels"),
  reputation: bit("reputation"),
  bandwidth: bit("bandwidth"),
  price: bit("price"),
  driver: bit("driver"),
  cuda: bit("cuda"),
  tflops: bit("tflops"),
  cpus: bit("cpus"),
  memory: bit("memory"),
  gpuCount: bit("gpuCount"),
  gpuModel: bit("gpuModel"),
  tier: bit("tier"),
  vram: bit("vram"),
  computeCapability: bit("computeCapability"),
};

function labelsFit(labels: Readonly<Record<string, string>>, demand: Demand): boolean {
  const { requiredLabels, forbiddenLabels } = demand.constraints;
  if (requiredLabels) {
    for (const key in requiredLabels) if (labels[key] !== requiredLabels[key]) return false;
  }
  if (forbiddenLabels) {
    for (const entry of forbiddenLabels) {
      const split = entry.indexOf("=");
      if (split < 0) {
        if (labels[entry] !== undefined) return false;
      } else if (labels[entry.slice(0, split)] === entry.slice(split + 1)) return false;
    }
  }
  return true;
}

/**
 * Node-wide constraints the node fails (whatever is reserved on it). With `all` false it stops at
 * the first failure: the placement loop only needs to know whether there is one.
 */
export function nodeFailures(state: NodeState, demand: Demand, all: boolean): number {
  const c = demand.constraints;
  const node = state.node;
  let mask = 0;
  if (c.excludeNodes?.has(node.id)) {
    mask |= B.excluded;
    if (!all) return mask;
  }
  if (!node.schedulable) {
    mask |= B.offline;
    if (!all) return mask;
  }
  if (c.regions && !c.regions.includes(node.region)) {
    mask |= B.region;
    if (!all) return mask;
  }
  if (c.countries && (node.country === undefined || !c.countries.includes(node.country))) {
    mask |= B.country;
    if (!all) return mask;
  }
  if (c.near) {
    const { lat, lon } = node;
    const inside =
      lat !== undefined &&
      lon !== undefined &&
      distanceKm(c.near.lat, c.near.lon, lat, lon) <= c.near.radiusKm;
    if (!inside) {
      mask |= B.near;
      if (!all) return mask;
    }
  }
  if ((c.requiredLabels || c.forbiddenLabels) && !labelsFit(node.labels, demand)) {
    mask |= B.labels;
    if (!all) return mask;
  }
  if (c.minReputation !== undefined && (node.reputation === undefined || node.reputation < c.minReputation)) {
    mask |= B.reputation;
    if (!all) return mask;
  }
  if (
    c.minBandwidthGbps !== undefined &&
    (node.bandwidthGbps === undefined || node.bandwidthGbps < c.minBandwidthGbps)
  ) {
    mask |= B.bandwidth;
    if (!all) return mask;
  }
  if (
    c.maxPricePerGpuHourMicros !== undefined &&
    demand.gpus > 0 &&
    node.pricePerGpuHourMicros > c.maxPricePerGpuHourMicros
  ) {
    mask |= B.price;
    if (!all) return mask;
  }
  if (
    c.minDriverVersion !== undefined &&
    (state.driverKey === undefined || state.driverKey < c.minDriverVersion)
  ) {
    mask |= B.driver;
    if (!all) return mask;
  }
  if (c.minCudaVersion !== undefined && (state.cudaKey === undefined || state.cudaKey < c.minCudaVersion)) {
    mask |= B.cuda;
    if (!all) return mask;
  }
  if (c.minTflops !== undefined && (node.verifiedTflops === undefined || node.verifiedTflops < c.minTflops)) {
    mask |= B.tflops;
    if (!all) return mask;
  }
  if (node.cpuMilli < demand.cpuMilli) {
    mask |= B.cpus;
    if (!all) return mask;
  }
  if (node.memoryMib < demand.memoryMib) mask |= B.memory;
  return mask;
}

/** Per-GPU constraints one GPU group fails, counting its size as if nothing were reserved. */
export function groupFailures(group: GpuGroup, demand: Demand, all: boolean): number {
  const c = demand.constraints;
  let mask = 0;
  if (group.indices.length < demand.gpus) {
    mask |= B.gpuCount;
    if (!all) return mask;
  }
  if (c.gpuModels && !c.gpuModels.includes(group.model)) {
    mask |= B.gpuModel;
    if (!all) return mask;
  }
  if (c.tiers && (group.tier === undefined || !c.tiers.includes(group.tier))) {
    mask |= B.tier;
    if (!all) return mask;
  }
  if (c.minVramMib !== undefined && group.minVramMib < c.minVramMib) {
    mask |= B.vram;
    if (!all) return mask;
  }
  if (
    c.minComputeCapability !== undefined &&
    (group.minComputeCapability === undefined || group.minComputeCapability < c.minComputeCapability)
  )
    mask |= B.computeCapability;
  return mask;
}

/** The GPU-related failures of a node with no group that suits: those of its closest group. */
export function gpuFailures(state: NodeState, demand: Demand): { mask: number; groups: number[] } {
  if (demand.gpus === 0) return { mask: 0, groups: [] };
  if (state.groups.length === 0) return { mask: B.gpuCount, groups: [B.gpuCount] };
  const groups = state.groups.map((group) => groupFailures(group, demand, true));
  // A node fails a GPU constraint only when every one of its groups does.
  const mask = groups.reduce((all, groupMask) => all & groupMask, -1);
  return { mask, groups };
}

/** Whether the group has room for `demand` now, given what is reserved on the node. */
export function freeFits(state: NodeState, group: GpuGroup | undefined, demand: Demand): boolean {
  if (state.freeCpuMilli < demand.cpuMilli || state.freeMemoryMib < demand.memoryMib) return false;
  if (demand.gpus === 0) return true;
  if (!group) return false;
  if (demand.gpuMilli >= WHOLE_GPU_MILLI) return state.wholeFree(group) >= demand.gpus;
  for (const index of group.indices) if ((state.freeMilli[index] ?? 0) >= demand.gpuMilli) return true;
  return false;
}

/**
 * The first group of the node that meets every constraint and has room now, or null; for
 * CPU-only demand, undefined when the node has room. The placement loop's single test.
 */
export function fittingGroup(state: NodeState, demand: Demand): GpuGroup | undefined | null {
  if (nodeFailures(state, demand, false) !== 0) return null;
  if (demand.gpus === 0) return freeFits(state, undefined, demand) ? undefined : null;
  for (const group of state.groups) {
    if (groupFailures(group, demand, false) === 0 && freeFits(state, group, demand)) return group;
  }
  return null;
}
