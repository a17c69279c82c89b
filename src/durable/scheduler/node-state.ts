import { type GpuTier, gpuModelById } from "../../shared/gpu-catalog.js";
import { WHOLE_GPU_MILLI } from "./demand.js";
import type { NodeAllocation } from "./reservation.js";
import type { SchedulerNode } from "./scheduler-node.js";
import { versionKey } from "./version.js";

/** GPUs of one model on one node; a node with two models has two groups. */
export interface GpuGroup {
  /** The model id, or "" for a part the catalogue does not know. */
  readonly model: string;
  readonly tier: GpuTier | undefined;
  /** Indices into the node's `gpus`. */
  readonly indices: readonly number[];
  readonly minVramMib: number;
  readonly minComputeCapability: number | undefined;
}

/** One node as the inventory holds it: the node, its free capacity and its reservations. */
export class NodeState {
  /** Order of first registration; first-fit and tie-breaks use it. */
  readonly seq: number;
  readonly node: SchedulerNode;
  readonly groups: readonly GpuGroup[];
  /** Free share of each GPU, in thousandths. */
  readonly freeMilli: Int32Array;
  freeCpuMilli: number;
  freeMemoryMib: number;
  readonly driverKey: number | undefined;
  readonly cudaKey: number | undefined;
  readonly reservations = new Map<string, NodeAllocation>();
  /** Expected end of each reservation that has one, for backfill. */
  private readonly ends = new Map<string, number>();
  /** Per group: the free-GPU bucket it sits in, or -1 while not indexed. */
  readonly indexedFree: number[];
  /** Per group: the shared-GPU bucket it sits in, or -1. */
  readonly indexedPartial: number[];
  /** Per group: the free GPU capacity counted in its model's total (0 while not indexed). */
  readonly countedFree: number[];
  indexedCpuOnly = false;
  /** The free CPU and memory counted in the inventory's totals (0 while not schedulable). */
  countedCpuMilli = 0;
  countedMemoryMib = 0;
  /** Search stamp, so a node reached through two buckets is visited once per search. */
  visitMark = 0;
  private readonly uuidIndex: Map<string, number>;

  constructor(node: SchedulerNode, seq: number) {
    this.node = node;
    this.seq = seq;
    this.groups = groupGpus(node);
    this.freeMilli = new Int32Array(node.gpus.length).fill(WHOLE_GPU_MILLI);
    this.freeCpuMilli = node.cpuMilli;
    this.freeMemoryMib = node.memoryMib;
    this.driverKey = versionKey(node.driverVersion);
    this.cudaKey = versionKey(node.cudaVersion);
    this.indexedFree = this.groups.map(() => -1);
    this.indexedPartial = this.groups.map(() => -1);
    this.countedFree = this.groups.map(() => 0);
    this.uuidIndex = new Map(node.gpus.map((gpu, index) => [gpu.uuid, index]));
  }

  /** When the reservation is expected to end at the latest (ms); Infinity when unknown. */
  expectedEnd(key: string): number {
    return this.ends.get(key) ?? Number.POSITIVE_INFINITY;
  }

  /** @internal Records or forgets a reservation's expected end. */
  setExpectedEnd(key: string, endAt: number | undefined): void {
    if (endAt === undefined) this.ends.delete(key);
    else this.ends.set(key, endAt);
  }

  gpuIndex(uuid: string): number | undefined {
    return this.uuidIndex.get(uuid);
  }

  /** Whole GPUs of the group that are entirely free. */
  wholeFree(group: GpuGroup): number {
    let count = 0;
    for (const index of group.indices) if (this.freeMilli[index] === WHOLE_GPU_MILLI) count++;
    return count;
  }

  /** Free GPU capacity of the group, in thousandths. */
  freeOf(group: GpuGroup): number {
    let free = 0;
    for (const index of group.indices) free += this.freeMilli[index] ?? 0;
    return free;
  }

  /** The largest free share of a shared GPU (partly taken, partly free) in the group, or 0. */
  largestPartial(group: GpuGroup): number {
    let largest = 0;
    for (const index of group.indices) {
      const free = this.freeMilli[index] ?? 0;
      if (free < WHOLE_GPU_MILLI && free > largest) largest = free;
    }
    return largest;
  }
}

function groupGpus(node: SchedulerNode): GpuGroup[] {
  const byModel = new Map<string, number[]>();
  node.gpus.forEach((gpu, index) => {
    const key = gpu.model ?? "";
    const list = byModel.get(key);
    if (list) list.push(index);
    else byModel.set(key, [index]);
  });
  return [...byModel.entries()].map(([model, indices]) => {
    const gpus = indices.flatMap((index) => node.gpus[index] ?? []);
    const ccs = gpus.map((gpu) => versionKey(gpu.computeCapability));
    return {
      model,
      tier: gpus[0]?.tier ?? gpuModelById(model)?.tier,
      indices,
      minVramMib: Math.min(...gpus.map((gpu) => gpu.vramMib)),
      minComputeCapability: ccs.some((cc) => cc === undefined)
        ? undefined
        : Math.min(...ccs.map((cc) => cc ?? 0)),
    };
  });
}
