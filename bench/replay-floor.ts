/**
 * A lower bound on the unallocated share any policy reaches under the FGD protocol, for
 * `bench:replay`'s "floor" column. Each pod can use only some GPU models: those its list allows
 * whose nodes are big enough for it (GPUs, CPU, memory). For any split of the models into
 * disjoint groups, the pods that can use models of one group only compete for that group's
 * capacity, so whatever they ask beyond it must fail; the groups' capacities do not overlap, so
 * their excesses add. The floor is the best such split (every split of the cluster's few models
 * is tried), plus the pods no empty node could hold, less the last arrival's overshoot of
 * capacity. Splitting into single models gives the per-model bound; joining models that share
 * their pods (P100 and the V100s, asked for together) can only raise it.
 */
import {
  fgdArrivals,
  gpuCapacityMilli,
  podGpuMilli,
  type TraceNode,
  type TracePod,
  WHOLE,
} from "./replay-trace.js";

/** Every split of `count` items into disjoint groups, each group a bitmask. */
function* splits(count: number): Generator<number[]> {
  const assign = (index: number, groups: number[]): Generator<number[]> =>
    (function* () {
      if (index === count) {
        yield groups;
        return;
      }
      for (let group = 0; group < groups.length; group++) {
        const next = groups.slice();
        next[group] = (next[group] ?? 0) | (1 << index);
        yield* assign(index + 1, next);
      }
      yield* assign(index + 1, [...groups, 1 << index]);
    })();
  yield* assign(0, []);
}

export function unallocatedFloor(nodes: readonly TraceNode[], pods: readonly TracePod[]): number {
  const capacity = gpuCapacityMilli(nodes);
  const models = [...new Set(nodes.filter((node) => node.gpus > 0).map((node) => node.model))];
  if (models.length > 10) throw new Error(`${models.length} GPU models: too many splits to try`);
  const bit = new Map(models.map((model, index) => [model, 1 << index]));
  const modelCapacity = new Map<number, number>();
  for (const node of nodes) {
    const mask = bit.get(node.model);
    if (mask !== undefined) modelCapacity.set(mask, (modelCapacity.get(mask) ?? 0) + node.gpus * WHOLE);
  }
  // GPU demand by the set of models a pod can use.
  const demandBySet = new Map<number, number>();
  let unplaceable = 0;
  let arrived = 0;
  for (const pod of fgdArrivals(pods, capacity)) {
    arrived += podGpuMilli(pod);
    if (pod.gpus === 0) continue;
    let usable = 0;
    for (const node of nodes) {
      const fits =
        node.gpus >= pod.gpus &&
        node.cpuMilli >= pod.cpuMilli &&
        node.memoryMib >= pod.memoryMib &&
        (pod.models === undefined || pod.models.includes(node.model));
      if (fits) usable |= bit.get(node.model) ?? 0;
    }
    if (usable === 0) unplaceable += podGpuMilli(pod);
    else demandBySet.set(usable, (demandBySet.get(usable) ?? 0) + podGpuMilli(pod));
  }
  let bestExcess = 0;
  for (const groups of splits(models.length)) {
    let excess = 0;
    for (const group of groups) {
      let demand = 0;
      for (const [usable, milli] of demandBySet) if ((usable & ~group) === 0) demand += milli;
      let groupCapacity = 0;
      for (const [mask, milli] of modelCapacity) if ((mask & group) !== 0) groupCapacity += milli;
      excess += Math.max(0, demand - groupCapacity);
    }
    bestExcess = Math.max(bestExcess, excess);
  }
  // The last arrival may overshoot capacity; what failed beyond that overshoot stays unallocated.
  return Math.max(0, unplaceable + bestExcess - (arrived - capacity)) / capacity;
}
