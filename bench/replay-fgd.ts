/**
 * The trace's records in the scheduler's types, and the FGD protocol (Weng et al., USENIX ATC'23)
 * run through the `Scheduler` class the Region object uses: pods arrive in order (cycling) and
 * never leave; a pod no node can take fails and is skipped; at arrived GPU demand = 100% of GPU
 * capacity, the share of GPU capacity left unallocated.
 */
import { type Demand, type Policy, Scheduler, type SchedulerNode } from "../src/durable/scheduler/index.js";
import { fgdArrivals, gpuCapacityMilli, podGpuMilli, type TraceNode, type TracePod } from "./replay-trace.js";

export function schedulerNode(node: TraceNode): SchedulerNode {
  return {
    id: node.id,
    region: "trace",
    gpus: Array.from({ length: node.gpus }, (_, index) => ({
      uuid: `${node.id}-gpu${index}`,
      model: node.model || undefined,
      vramMib: 0,
    })),
    cpuMilli: node.cpuMilli,
    memoryMib: node.memoryMib,
    // The trace has no prices or reputations: every node is equal but for its hardware.
    pricePerGpuHourMicros: 0,
    labels: {},
    schedulable: true,
  };
}

export function podDemand(pod: TracePod): Demand {
  return {
    gpus: pod.gpus,
    gpuMilli: pod.gpuMilli,
    cpuMilli: pod.cpuMilli,
    memoryMib: pod.memoryMib,
    nodes: 1,
    strategy: "balanced",
    constraints: { gpuModels: pod.models },
  };
}

export interface Fragmentation {
  unallocatedGpuFraction: number;
  failedPods: number;
  failedGpuPods: number;
  arrivedPods: number;
}

export function fragmentation(
  policy: Policy,
  nodes: readonly TraceNode[],
  pods: readonly TracePod[],
): Fragmentation {
  const scheduler = new Scheduler({ policy });
  for (const node of nodes) scheduler.inventory.upsertNode(schedulerNode(node));
  const capacity = gpuCapacityMilli(nodes);
  let allocated = 0;
  let failedPods = 0;
  let failedGpuPods = 0;
  let count = 0;
  for (const pod of fgdArrivals(pods, capacity)) {
    count++;
    const demand = podDemand(pod);
    // Meridian learns the workload's shape from arrivals, as its queue does.
    scheduler.profile.observe(demand);
    if (scheduler.place(`${pod.name}#${count}`, demand)) allocated += podGpuMilli(pod);
    else {
      failedPods++;
      if (pod.gpus > 0) failedGpuPods++;
    }
  }
  return {
    unallocatedGpuFraction: (capacity - allocated) / capacity,
    failedPods,
    failedGpuPods,
    arrivedPods: count,
  };
}
