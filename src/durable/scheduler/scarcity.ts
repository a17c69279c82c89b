import type { TaskClass } from "./fragmentation.js";
import type { ModelCapacity, NodeShape } from "./inventory.js";

/**
 * How much each GPU model is needed by the jobs that can run on little else, against how much of
 * it is free. A kind of job in the workload profile can run on the models its list allows whose
 * node shapes (GPUs, CPU, memory) can hold it at all; when that is not every model, its share of
 * the GPU demand over those models' share of the free capacity is a load that each of them
 * carries. At 1 such jobs alone would use all of it: a job that could run elsewhere should, or
 * the scarce model (or the one node shape that fits a big job) is spent and those jobs fail.
 *
 * The profile knows only the model lists that have arrived, so a rare model nobody has asked for
 * yet looks free to spend; when the next jobs ask for it, it is gone. Where the workload restricts
 * models at all, every model also carries a prior (`rarityPrior`): in proportion to the share of
 * the demand that names models, and higher the smaller the model's share of the free capacity.
 * A workload that never names a model gets none, so its placements are unchanged.
 */
export function modelPressure(
  classes: readonly TaskClass[],
  capacity: ReadonlyMap<string, ModelCapacity>,
): Map<string, number> {
  let totalDemand = 0;
  let restrictedDemand = 0;
  let totalFree = 0;
  for (const model of capacity.values()) totalFree += model.freeMilli;
  for (const task of classes) {
    const demand = task.weight * task.gpus * task.gpuMilli;
    totalDemand += demand;
    if (task.gpuModels !== undefined) restrictedDemand += demand;
  }
  const pressure = new Map<string, number>();
  if (totalDemand <= 0 || totalFree <= 0) return pressure;
  for (const task of classes) {
    const feasible: string[] = [];
    let free = 0;
    for (const [model, { freeMilli, shapes }] of capacity) {
      if (task.gpuModels !== undefined && !task.gpuModels.includes(model)) continue;
      if (!shapes.some((shape) => holds(shape, task))) continue;
      feasible.push(model);
      free += freeMilli;
    }
    if (feasible.length === 0 || feasible.length === capacity.size || free <= 0) continue;
    const load = (task.weight * task.gpus * task.gpuMilli) / totalDemand / (free / totalFree);
    for (const model of feasible) pressure.set(model, (pressure.get(model) ?? 0) + load);
  }
  const prior = rarityPrior(restrictedDemand / totalDemand, capacity, totalFree);
  for (const [model, level] of prior) pressure.set(model, (pressure.get(model) ?? 0) + level);
  return pressure;
}

/**
 * Per model, `restrictedShare` (the share of the GPU demand that names models) times the share of
 * the free GPU capacity that is not that model's: near the full share for a rare model, less for
 * the one most of the free capacity is. Empty when no demand names a model.
 */
export function rarityPrior(
  restrictedShare: number,
  capacity: ReadonlyMap<string, ModelCapacity>,
  totalFree: number,
): Map<string, number> {
  const prior = new Map<string, number>();
  if (!(restrictedShare > 0) || totalFree <= 0) return prior;
  for (const [model, { freeMilli }] of capacity)
    prior.set(model, restrictedShare * (1 - freeMilli / totalFree));
  return prior;
}

const holds = (shape: NodeShape, task: TaskClass): boolean =>
  shape.gpus >= task.gpus && shape.cpuMilli >= task.cpuMilli && shape.memoryMib >= task.memoryMib;

/** CPU and memory the workload asks per whole GPU it asks for (its GPU classes' weighted means). */
export interface HostRatio {
  cpuMilliPerGpu: number;
  memoryMibPerGpu: number;
}

export function hostRatio(classes: readonly TaskClass[]): HostRatio {
  let gpus = 0;
  let cpu = 0;
  let memory = 0;
  for (const task of classes) {
    const share = (task.gpus * task.gpuMilli) / 1000;
    gpus += task.weight * share;
    cpu += task.weight * task.cpuMilli;
    memory += task.weight * task.memoryMib;
  }
  return gpus <= 0
    ? { cpuMilliPerGpu: 0, memoryMibPerGpu: 0 }
    : { cpuMilliPerGpu: cpu / gpus, memoryMibPerGpu: memory / gpus };
}

/**
 * Free GPU capacity (thousandths) that the node's free CPU or memory could not feed at the
 * workload's usual ratio: GPUs stranded by the host resources around them.
 */
export function strandedMilli(
  freeGpuMilli: number,
  freeCpuMilli: number,
  freeMemoryMib: number,
  ratio: HostRatio,
): number {
  let fed = Number.POSITIVE_INFINITY;
  if (ratio.cpuMilliPerGpu > 0) fed = Math.min(fed, (freeCpuMilli / ratio.cpuMilliPerGpu) * 1000);
  if (ratio.memoryMibPerGpu > 0) fed = Math.min(fed, (freeMemoryMib / ratio.memoryMibPerGpu) * 1000);
  return Math.max(0, freeGpuMilli - fed);
}
