/**
 * The plain heuristics, written on their own from the trace's records (no scheduler code), so
 * `bench:replay`'s baselines can be checked against them: the scheduler's `bestFit` and `firstFit`
 * policies must leave the same unallocated share within 2% (`test/scheduler/replay-baselines.test.ts`
 * and the bench's own cross-check line).
 *
 * - first-fit: the first node in list order with room (CPU, memory, the GPUs of an allowed
 *   model); on it the first free GPUs (for a shared GPU, the first GPU with enough share left).
 * - best-fit: the node with the least GPU capacity (thousandths) left after the pod, ties to the
 *   earlier node; on it the shared GPU with the least share left that still fits.
 */
import {
  fgdArrivals,
  gpuCapacityMilli,
  podGpuMilli,
  type TraceNode,
  type TracePod,
  WHOLE,
} from "./replay-trace.js";

export type PlainPolicy = "bestFit" | "firstFit";

interface Slot {
  model: string;
  cpu: number;
  memory: number;
  free: number[];
}

/** The GPU indices `pod` would take on `slot`, or null when it does not fit there. */
function gpusFor(slot: Slot, pod: TracePod, tightest: boolean): number[] | null {
  if (slot.cpu < pod.cpuMilli || slot.memory < pod.memoryMib) return null;
  if (pod.gpus === 0) return [];
  if (pod.models && !pod.models.includes(slot.model)) return null;
  if (pod.gpuMilli >= WHOLE) {
    const chosen: number[] = [];
    slot.free.forEach((free, index) => {
      if (free === WHOLE && chosen.length < pod.gpus) chosen.push(index);
    });
    return chosen.length === pod.gpus ? chosen : null;
  }
  let best = -1;
  slot.free.forEach((free, index) => {
    if (free < pod.gpuMilli) return;
    if (best < 0 || (tightest && free < (slot.free[best] ?? 0))) best = index;
  });
  return best < 0 ? null : [best];
}

export interface PlainResult {
  unallocatedGpuFraction: number;
  failedPods: number;
  arrivedPods: number;
}

/** The FGD protocol (see `fgdArrivals`) under a plain heuristic. */
export function plainFragmentation(
  policy: PlainPolicy,
  nodes: readonly TraceNode[],
  pods: readonly TracePod[],
): PlainResult {
  const slots: Slot[] = nodes.map((node) => ({
    model: node.model,
    cpu: node.cpuMilli,
    memory: node.memoryMib,
    free: Array.from({ length: node.gpus }, () => WHOLE),
  }));
  const capacity = gpuCapacityMilli(nodes);
  let allocated = 0;
  let failedPods = 0;
  let arrivedPods = 0;
  for (const pod of fgdArrivals(pods, capacity)) {
    arrivedPods++;
    let chosen: Slot | undefined;
    let chosenGpus: number[] = [];
    let chosenLeft = Number.POSITIVE_INFINITY;
    for (const slot of slots) {
      const gpus = gpusFor(slot, pod, policy === "bestFit");
      if (gpus === null) continue;
      if (policy === "firstFit") {
        chosen = slot;
        chosenGpus = gpus;
        break;
      }
      const left = slot.free.reduce((sum, free) => sum + free, 0) - podGpuMilli(pod);
      if (left < chosenLeft) {
        chosen = slot;
        chosenGpus = gpus;
        chosenLeft = left;
      }
    }
    if (!chosen) {
      failedPods++;
      continue;
    }
    chosen.cpu -= pod.cpuMilli;
    chosen.memory -= pod.memoryMib;
    for (const index of chosenGpus) chosen.free[index] = (chosen.free[index] ?? 0) - pod.gpuMilli;
    allocated += podGpuMilli(pod);
  }
  return { unallocatedGpuFraction: (capacity - allocated) / capacity, failedPods, arrivedPods };
}
