import { type Demand, WHOLE_GPU_MILLI } from "../demand.js";
import type { Inventory } from "../inventory.js";

/**
 * What one shard publishes to the region's coordinator: per GPU model its free capacity and how
 * many nodes have each count of whole GPUs free, and the free CPU and memory of its schedulable
 * nodes. Small (a few numbers per model) and enough to tell whether a job could fit there, so the
 * coordinator never reads a shard's nodes.
 */
export interface ShardSummary {
  shard: number;
  models: Map<string, { freeMilli: number; nodesByWholeFree: number[] }>;
  /** Free CPU (thousandths of a core) and memory (MiB) on schedulable nodes, GPU nodes included. */
  cpu: { freeMilli: number; freeMemoryMib: number };
  /** Every node the shard holds, schedulable or not: a gang larger than this can never start there. */
  nodes: number;
}

export function summarise(shard: number, inventory: Inventory): ShardSummary {
  const free = inventory.freeCpu();
  return {
    shard,
    models: inventory.freeSummary(),
    cpu: { freeMilli: free.cpuMilli, freeMemoryMib: free.memoryMib },
    nodes: inventory.size,
  };
}

/**
 * How much room the summary says the shard has for `demand`, 0 when it cannot hold it. A GPU job's
 * room is the free GPU capacity (thousandths) of the models it allows, where enough nodes have
 * enough whole GPUs free (or a GPU has room for its share). A CPU-only job's room is the shard's
 * free CPU (thousandths of a core), so CPU work spreads by what is free, not by node counts. Either
 * needs the shard's free CPU and memory to cover every member. Constraints beyond these (and
 * whether one node has the CPU free) are the shard's to check.
 */
export function roomFor(summary: ShardSummary, demand: Demand): number {
  const { cpu } = summary;
  if (cpu.freeMilli < demand.cpuMilli * demand.nodes || cpu.freeMemoryMib < demand.memoryMib * demand.nodes)
    return 0;
  if (demand.gpus === 0) return cpu.freeMilli;
  const wanted = demand.constraints.gpuModels;
  let room = 0;
  for (const [model, entry] of summary.models) {
    if (wanted !== undefined && !wanted.includes(model)) continue;
    if (demand.gpuMilli < WHOLE_GPU_MILLI && demand.gpus === 1) {
      if (entry.freeMilli >= demand.gpuMilli) room += entry.freeMilli;
      continue;
    }
    let nodes = 0;
    for (let free = demand.gpus; free < entry.nodesByWholeFree.length; free++)
      nodes += entry.nodesByWholeFree[free] ?? 0;
    if (nodes >= demand.nodes) room += entry.freeMilli;
  }
  return room;
}
