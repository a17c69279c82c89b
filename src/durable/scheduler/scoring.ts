import { distanceKm } from "../../shared/regions.js";
import { type Demand, WHOLE_GPU_MILLI } from "./demand.js";
import { nodeFragmentation, type TaskClass } from "./fragmentation.js";
import type { GpuGroup, NodeState } from "./inventory.js";
import { type HostRatio, strandedMilli } from "./scarcity.js";
import { PRIOR_REPUTATION } from "./scheduler-node.js";

/**
 * How candidates are ranked. `meridian` is the product policy: the job's strategy, then
 * fragmentation, then locality. `bestFit` and `firstFit` are the plain baselines, kept in the same
 * code so benchmarks compare policies and nothing else: first-fit takes the earliest-registered
 * node with room (and on it the first GPU with room); best-fit the node with the least GPU
 * capacity left after the job, ties to the earlier node (and on it the tightest shared GPU).
 */
export type Policy = "meridian" | "bestFit" | "firstFit";

/** A node that can take the job now, with the GPUs it would give it. */
export interface Candidate {
  state: NodeState;
  group: GpuGroup | undefined;
  /** Indices into the node's GPUs. */
  gpuIndices: number[];
  /** Change in the node's expected unusable GPU capacity (thousandths) if the job goes here. */
  fragmentationDelta: number;
  /** Change in the node's GPU capacity its free CPU and memory could not feed (thousandths). */
  strandedDelta: number;
  score: number;
}

/** How much one GPU's worth of fragmentation weighs against the whole strategy score (0..1). */
const FRAGMENTATION_PER_GPU = 1 / 16;
const LOCALITY_WEIGHT = 0.02;
const STRANDED_PER_GPU = 1 / 16;
const SCARCITY_WEIGHT = 1;
/** Last tie-break: among otherwise equal nodes, the one the job fills most (best fit). */
const PACKING_WEIGHT = 0.001;

/**
 * The GPUs of `group` the job would take: the first whole free ones, or for a share of one GPU
 * the GPU it fills best (the tightest that fits), so shared GPUs fill up before whole ones break.
 */
export function chooseGpus(
  state: NodeState,
  group: GpuGroup | undefined,
  demand: Demand,
  policy: Policy,
): number[] {
  if (!group || demand.gpus === 0) return [];
  if (demand.gpuMilli >= WHOLE_GPU_MILLI) {
    const chosen: number[] = [];
    for (const index of group.indices) {
      if (state.freeMilli[index] === WHOLE_GPU_MILLI) chosen.push(index);
      if (chosen.length === demand.gpus) break;
    }
    return chosen;
  }
  let best = -1;
  let bestFree = Number.POSITIVE_INFINITY;
  for (const index of group.indices) {
    const free = state.freeMilli[index] ?? 0;
    if (free < demand.gpuMilli) continue;
    if (policy === "firstFit") return [index];
    if (free < bestFree) {
      best = index;
      bestFree = free;
    }
  }
  return best < 0 ? [] : [best];
}

/** A candidate for the node, with its fragmentation delta computed; its score comes later. */
export function makeCandidate(
  state: NodeState,
  group: GpuGroup | undefined,
  demand: Demand,
  policy: Policy,
  classes: readonly TaskClass[],
  ratio?: HostRatio,
): Candidate {
  const gpuIndices = chooseGpus(state, group, demand, policy);
  let fragmentationDelta = 0;
  let strandedDelta = 0;
  if (ratio && state.freeMilli.length > 0) {
    let free = 0;
    for (let index = 0; index < state.freeMilli.length; index++) free += state.freeMilli[index] ?? 0;
    strandedDelta =
      strandedMilli(
        free - demand.gpus * demand.gpuMilli,
        state.freeCpuMilli - demand.cpuMilli,
        state.freeMemoryMib - demand.memoryMib,
        ratio,
      ) - strandedMilli(free, state.freeCpuMilli, state.freeMemoryMib, ratio);
  }
  if (policy === "meridian" && state.freeMilli.length > 0) {
    const models = state.groups.map((gpuGroup) => gpuGroup.model);
    const before = nodeFragmentation(
      state.freeMilli,
      state.freeCpuMilli,
      state.freeMemoryMib,
      classes,
      models,
    );
    const after = Array.from(state.freeMilli);
    for (const index of gpuIndices) after[index] = (after[index] ?? 0) - demand.gpuMilli;
    fragmentationDelta =
      nodeFragmentation(
        after,
        state.freeCpuMilli - demand.cpuMilli,
        state.freeMemoryMib - demand.memoryMib,
        classes,
        models,
      ) - before;
  }
  return { state, group, gpuIndices, fragmentationDelta, strandedDelta, score: 0 };
}

function strategyValue(candidate: Candidate, demand: Demand, fallbackTflops: number): number {
  const node = candidate.state.node;
  const reputation = node.reputation ?? PRIOR_REPUTATION;
  // CPU-only jobs pay no GPU price; only reliability separates their nodes.
  if (demand.gpus === 0) return reputation;
  const price = node.pricePerGpuHourMicros + 1;
  const tflops = node.verifiedTflops ?? fallbackTflops;
  switch (demand.strategy) {
    case "cheapest":
      return 1 / price;
    case "fastest":
      return tflops;
    case "reliable":
      return reputation;
    case "balanced":
      return (tflops / price) * reputation;
  }
}

function locality(candidate: Candidate, demand: Demand): number {
  const node = candidate.state.node;
  const near = demand.constraints.near;
  if (near && node.lat !== undefined && node.lon !== undefined) {
    return 1 / (1 + distanceKm(near.lat, near.lon, node.lat, node.lon) / 100);
  }
  return node.rttMs === undefined ? 0 : 1 / (1 + node.rttMs / 10);
}

/**
 * GPU capacity (thousandths) the node has left after the job: the plain best-fit's figure, and
 * nothing else, so the `bestFit` baseline is exactly the textbook heuristic.
 */
export function leftoverGpuMilli(state: NodeState, demand: Demand): number {
  let free = 0;
  for (let index = 0; index < state.freeMilli.length; index++) free += state.freeMilli[index] ?? 0;
  return free - demand.gpus * demand.gpuMilli;
}

/** Share of the node's capacity left free after the job: less is a better fit. */
export function leftoverShare(state: NodeState, demand: Demand): number {
  const node = state.node;
  let freeGpu = 0;
  for (let index = 0; index < state.freeMilli.length; index++) freeGpu += state.freeMilli[index] ?? 0;
  const gpuLeft =
    node.gpus.length === 0
      ? 0
      : (freeGpu - demand.gpus * demand.gpuMilli) / (node.gpus.length * WHOLE_GPU_MILLI);
  const cpuLeft = (state.freeCpuMilli - demand.cpuMilli) / Math.max(1, node.cpuMilli);
  const memoryLeft = (state.freeMemoryMib - demand.memoryMib) / Math.max(1, node.memoryMib);
  return gpuLeft + cpuLeft + memoryLeft;
}

/**
 * Sets every candidate's score (higher is better). For `meridian`, the strategy's value is
 * normalised to the best candidate's (so 1 is the best available), unverified nodes count as the
 * slowest verified one, and fragmentation and locality are added with small weights: a much
 * cheaper or faster node still wins, but among close ones the placement that breaks fewer whole
 * GPUs does.
 */
export function scoreCandidates(
  candidates: readonly Candidate[],
  demand: Demand,
  policy: Policy,
  pressure: ReadonlyMap<string, number> = new Map(),
): void {
  if (policy === "firstFit") {
    for (const candidate of candidates) candidate.score = -candidate.state.seq;
    return;
  }
  if (policy === "bestFit") {
    for (const candidate of candidates) candidate.score = -leftoverGpuMilli(candidate.state, demand);
    return;
  }
  let slowestVerified = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const tflops = candidate.state.node.verifiedTflops;
    if (tflops !== undefined && tflops < slowestVerified) slowestVerified = tflops;
  }
  const fallbackTflops = Number.isFinite(slowestVerified) ? slowestVerified : 1;
  let best = 0;
  const values = candidates.map((candidate) => {
    const value = strategyValue(candidate, demand, fallbackTflops);
    if (value > best) best = value;
    return value;
  });
  candidates.forEach((candidate, index) => {
    const strategy = best > 0 ? (values[index] ?? 0) / best : 0;
    candidate.score =
      strategy -
      (candidate.fragmentationDelta / WHOLE_GPU_MILLI) * FRAGMENTATION_PER_GPU -
      (candidate.strandedDelta / WHOLE_GPU_MILLI) * STRANDED_PER_GPU +
      LOCALITY_WEIGHT * locality(candidate, demand) -
      PACKING_WEIGHT * leftoverShare(candidate.state, demand) -
      SCARCITY_WEIGHT * scarcityCost(candidate, demand, pressure);
  });
}

/**
 * What the job would spend of a scarce model: the model's pressure times the GPUs it takes there.
 */
function scarcityCost(candidate: Candidate, demand: Demand, pressure: ReadonlyMap<string, number>): number {
  const model = candidate.group?.model;
  const level = model === undefined ? 0 : (pressure.get(model) ?? 0);
  return (level * demand.gpus * demand.gpuMilli) / WHOLE_GPU_MILLI;
}

/** Highest score first; equal scores go to the earlier-registered node, for determinism. */
export const byScore = (a: Candidate, b: Candidate): number => b.score - a.score || a.state.seq - b.state.seq;
