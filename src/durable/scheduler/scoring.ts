import { type Demand, WHOLE_GPU_MILLI } from "./demand.js";
import { nodeFragmentation, type TaskClass } from "./fragmentation.js";
import type { GpuGroup, NodeState } from "./inventory.js";
import { type HostRatio, strandedMilli } from "./scarcity.js";
import { type Policy, policyTerms, type ScoreContext, type WeightedTerm } from "./score-terms/index.js";

export type { Policy } from "./score-terms/index.js";
export { leftoverGpuMilli } from "./score-terms/leftover-gpu.js";
export { leftoverShare } from "./score-terms/packing.js";

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

/** TFLOP/s an unverified candidate counts as: the slowest verified one's, else 1. */
function slowestVerified(candidates: readonly Candidate[]): number {
  let slowest = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const tflops = candidate.state.node.verifiedTflops;
    if (tflops !== undefined && tflops < slowest) slowest = tflops;
  }
  return Number.isFinite(slowest) ? slowest : 1;
}

/**
 * Sets every candidate's score (higher is better): the sum of the policy's terms, each
 * normalised as its record says, times its weight.
 */
export function scoreCandidates(
  candidates: readonly Candidate[],
  demand: Demand,
  policy: Policy,
  pressure: ReadonlyMap<string, number> = new Map(),
): void {
  const context: ScoreContext = { demand, pressure, fallbackTflops: slowestVerified(candidates) };
  for (const candidate of candidates) candidate.score = 0;
  for (const { term, weight } of policyTerms(policy, demand)) {
    if (term.normalise !== "toBest") {
      const perGpu = term.normalise === "perGpu";
      for (const candidate of candidates) {
        const value = term.value(candidate, context);
        candidate.score += weight * (perGpu ? value / WHOLE_GPU_MILLI : value);
      }
      continue;
    }
    const values = candidates.map((candidate) => term.value(candidate, context));
    let best = 0;
    for (const value of values) if (value > best) best = value;
    candidates.forEach((candidate, index) => {
      candidate.score += weight * (best > 0 ? (values[index] ?? 0) / best : 0);
    });
  }
}

/**
 * The policy's terms when each depends on the node alone, so the best node can be kept while
 * streaming (the baselines); undefined when a term needs the whole candidate set.
 */
export function streamingTerms(policy: Policy, demand: Demand): readonly WeightedTerm[] | undefined {
  const terms = policyTerms(policy, demand);
  return terms.every(({ term }) => term.nodeOnly === true && term.normalise !== "toBest") ? terms : undefined;
}

/** A candidate's score under streaming terms (its deltas unused). */
export function streamedScore(
  terms: readonly WeightedTerm[],
  candidate: Candidate,
  context: ScoreContext,
): number {
  let score = 0;
  for (const { term, weight } of terms) {
    const value = term.value(candidate, context);
    score += weight * (term.normalise === "perGpu" ? value / WHOLE_GPU_MILLI : value);
  }
  return score;
}

/** Highest score first; equal scores go to the earlier-registered node, for determinism. */
export const byScore = (a: Candidate, b: Candidate): number => b.score - a.score || a.state.seq - b.state.seq;
