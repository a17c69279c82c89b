import { type Demand, WHOLE_GPU_MILLI } from "../demand.js";
import type { Inventory } from "../inventory.js";

/**
 * What one shard publishes to the region's coordinator: per GPU model its free capacity and how
 * many nodes have each count of whole GPUs free. Small (a few numbers per model) and enough to
 * tell whether a job could fit there, so the coordinator never reads a shard's nodes.
 */
export interface ShardSummary {
  shard: number;
  models: Map<string, { freeMilli: number; nodesByWholeFree: number[] }>;
  cpuOnlyNodes: number;
  /** Every node the shard holds, schedulable or not: a gang larger than this can never start there. */
  nodes: number;
}

export function summarise(shard: number, inventory: Inventory): ShardSummary {
  return {
    shard,
    models: inventory.freeSummary(),
    cpuOnlyNodes: inventory.cpuOnlyNodes,
    nodes: inventory.size,
  };
}

/**
 * The free GPU capacity (thousandths) of the models `demand` allows, when the summary says the
 * shard may hold it (enough nodes with enough whole GPUs free, or a GPU with room for a share);
 * 0 when it cannot. Constraints beyond the model are the shard's to check.
 */
export function roomFor(summary: ShardSummary, demand: Demand): number {
  const wanted = demand.constraints.gpuModels;
  let room = 0;
  for (const [model, entry] of summary.models) {
    if (wanted !== undefined && !wanted.includes(model)) continue;
    if (demand.gpus === 0) {
      room += entry.freeMilli + 1;
      continue;
    }
    if (demand.gpuMilli < WHOLE_GPU_MILLI && demand.gpus === 1) {
      if (entry.freeMilli >= demand.gpuMilli) room += entry.freeMilli;
      continue;
    }
    let nodes = 0;
    for (let free = demand.gpus; free < entry.nodesByWholeFree.length; free++)
      nodes += entry.nodesByWholeFree[free] ?? 0;
    if (nodes >= demand.nodes) room += entry.freeMilli;
  }
  if (demand.gpus === 0) room += summary.cpuOnlyNodes;
  return room;
}
