import { type Demand, WHOLE_GPU_MILLI } from "./demand.js";
import { groupFailures, nodeFailures } from "./feasibility.js";
import type { GpuGroup, Inventory, NodeState } from "./inventory.js";

/**
 * Capacity held for a blocked job at the head of the queue (EASY backfill): the nodes it will
 * start on once enough frees, and when that is expected. Jobs behind it may run on those nodes
 * only if they are sure to end before then; elsewhere they run freely, so they never delay it.
 */
export interface Hold {
  jobId: string;
  nodeIds: ReadonlySet<string>;
  /** When the held nodes are expected to have room (ms); Infinity when a holder has no end. */
  startAt: number;
}

/** When the node is expected to have room for `demand`: now, a holder's end, or Infinity. */
export function availableAt(state: NodeState, demand: Demand, now: number): number {
  const groups =
    demand.gpus === 0
      ? [undefined]
      : state.groups.filter((group) => groupFailures(group, demand, false) === 0);
  if (groups.length === 0) return Number.POSITIVE_INFINITY;
  const free = Array.from(state.freeMilli);
  let cpu = state.freeCpuMilli;
  let memory = state.freeMemoryMib;
  const fitsNow = (): boolean => groups.some((group) => roomIn(free, cpu, memory, group, demand));
  if (fitsNow()) return now;
  const byEnd = [...state.reservations.entries()]
    .map(([key, allocation]) => ({ key, allocation, endAt: state.expectedEnd(key) }))
    .sort((a, b) => a.endAt - b.endAt);
  for (const { allocation, endAt } of byEnd) {
    if (!Number.isFinite(endAt)) return Number.POSITIVE_INFINITY;
    for (const share of allocation.gpus) {
      const index = state.gpuIndex(share.uuid);
      if (index !== undefined) free[index] = (free[index] ?? 0) + share.milli;
    }
    cpu += allocation.cpuMilli;
    memory += allocation.memoryMib;
    if (fitsNow()) return Math.max(now, endAt);
  }
  return Number.POSITIVE_INFINITY;
}

function roomIn(
  free: number[],
  cpu: number,
  memory: number,
  group: GpuGroup | undefined,
  demand: Demand,
): boolean {
  if (cpu < demand.cpuMilli || memory < demand.memoryMib) return false;
  if (!group) return true;
  if (demand.gpuMilli >= WHOLE_GPU_MILLI) {
    let whole = 0;
    for (const index of group.indices) if ((free[index] ?? 0) >= WHOLE_GPU_MILLI) whole++;
    return whole >= demand.gpus;
  }
  return group.indices.some((index) => (free[index] ?? 0) >= demand.gpuMilli);
}

/** Capacity still missing on the node for `demand`, as a share of what it asks; ranks holds. */
function shortfall(state: NodeState, demand: Demand): number {
  let bestFree = 0;
  for (const group of state.groups) {
    if (groupFailures(group, demand, false) !== 0) continue;
    let free = 0;
    for (const index of group.indices) free += Math.min(state.freeMilli[index] ?? 0, demand.gpuMilli);
    bestFree = Math.max(bestFree, free);
  }
  const gpuNeed = demand.gpus * demand.gpuMilli;
  const gpuShort = gpuNeed === 0 ? 0 : Math.max(0, gpuNeed - bestFree) / gpuNeed;
  const cpuShort = Math.max(0, demand.cpuMilli - state.freeCpuMilli) / Math.max(1, demand.cpuMilli);
  const memoryShort = Math.max(0, demand.memoryMib - state.freeMemoryMib) / Math.max(1, demand.memoryMib);
  return gpuShort + cpuShort + memoryShort;
}

/**
 * The hold for a job that cannot be placed now: the `demand.nodes` nodes that pass its
 * constraints and have room soonest (when end times are unknown, those closest to having room).
 * Null when too few nodes could ever take it; such a job must not block anyone.
 */
export function holdFor(jobId: string, demand: Demand, inventory: Inventory, now: number): Hold | null {
  const ranked: { state: NodeState; at: number; short: number }[] = [];
  for (const state of inventory.nodes()) {
    if (nodeFailures(state, demand, false) !== 0) continue;
    const at = availableAt(state, demand, now);
    if (demand.gpus > 0 && !state.groups.some((group) => groupFailures(group, demand, false) === 0)) continue;
    ranked.push({ state, at, short: shortfall(state, demand) });
  }
  if (ranked.length < demand.nodes) return null;
  ranked.sort((a, b) => a.at - b.at || a.short - b.short || a.state.seq - b.state.seq);
  const chosen = ranked.slice(0, demand.nodes);
  return {
    jobId,
    nodeIds: new Set(chosen.map((entry) => entry.state.node.id)),
    startAt: chosen.reduce((latest, entry) => Math.max(latest, entry.at), now),
  };
}
