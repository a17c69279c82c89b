import type { GpuConstraint, NodeConstraint } from "./constraints/constraint.js";
import { bit, type Checked, type Constraints, GPU_CHECKS, NODE_CHECKS } from "./constraints/index.js";
import { type Demand, WHOLE_GPU_MILLI } from "./demand.js";
import type { GpuGroup, NodeState } from "./node-state.js";

/**
 * Feasibility: the constraint registry run over a node, as Nomad's feasibility checkers are
 * chained. The placement loop asks only whether a node fails anything; explanations ask for every
 * failure, as a mask of the registry's bits.
 */

const GPU_COUNT = bit("gpuCount");

/** The checks a demand's constraints ask for, in registry order. */
export interface Asked {
  node: readonly Checked<NodeConstraint>[];
  gpu: readonly Checked<GpuConstraint>[];
}

/**
 * Per constraints object, the records it asks for: computed once, so the placement loop runs
 * only the checks a job sets. A demand's constraints are not changed once it is used.
 */
const ASKED = new WeakMap<Constraints, Asked>();

export function asked(demand: Demand): Asked {
  const constraints = demand.constraints;
  let found = ASKED.get(constraints);
  if (!found) {
    const values: Readonly<Record<string, unknown>> = constraints;
    const sets = (keys: readonly string[]): boolean =>
      keys.length === 0 || keys.some((key) => values[key] !== undefined);
    found = {
      node: NODE_CHECKS.filter((check) => sets(check.record.keys)),
      gpu: GPU_CHECKS.filter((check) => sets(check.record.keys)),
    };
    ASKED.set(constraints, found);
  }
  return found;
}

/**
 * Node-wide constraints the node fails (whatever is reserved on it). With `all` false it stops at
 * the first failure: the placement loop only needs to know whether there is one.
 */
export function nodeFailures(state: NodeState, demand: Demand, all: boolean): number {
  return nodeMask(asked(demand).node, state, demand, all);
}

function nodeMask(
  checks: readonly Checked<NodeConstraint>[],
  state: NodeState,
  demand: Demand,
  all: boolean,
): number {
  let mask = 0;
  for (const check of checks) {
    if (check.record.fails(state, demand)) {
      mask |= check.bit;
      if (!all) return mask;
    }
  }
  return mask;
}

/** Per-GPU constraints one GPU group fails, counting its size as if nothing were reserved. */
export function groupFailures(group: GpuGroup, demand: Demand, all: boolean): number {
  return groupMask(asked(demand).gpu, group, demand, all);
}

function groupMask(
  checks: readonly Checked<GpuConstraint>[],
  group: GpuGroup,
  demand: Demand,
  all: boolean,
): number {
  let mask = 0;
  for (const check of checks) {
    if (check.record.fails(group, demand)) {
      mask |= check.bit;
      if (!all) return mask;
    }
  }
  return mask;
}

/** The GPU-related failures of a node with no group that suits: those of its closest group. */
export function gpuFailures(state: NodeState, demand: Demand): { mask: number; groups: number[] } {
  if (demand.gpus === 0) return { mask: 0, groups: [] };
  if (state.groups.length === 0) return { mask: GPU_COUNT, groups: [GPU_COUNT] };
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
 * CPU-only demand, undefined when the node has room. The placement loop's single test; it
 * passes `checks` (`asked(demand)`) once per search rather than per node.
 */
export function fittingGroup(
  state: NodeState,
  demand: Demand,
  checks: Asked = asked(demand),
): GpuGroup | undefined | null {
  if (nodeMask(checks.node, state, demand, false) !== 0) return null;
  if (demand.gpus === 0) return freeFits(state, undefined, demand) ? undefined : null;
  for (const group of state.groups) {
    if (groupMask(checks.gpu, group, demand, false) === 0 && freeFits(state, group, demand)) return group;
  }
  return null;
}
