import type { GpuTier } from "../../shared/gpu-catalog.js";
import { WHOLE_GPU_MILLI } from "./demand.js";
import type { GpuGroup, NodeState } from "./node-state.js";
import type { SchedulerNode } from "./scheduler-node.js";

/** Shared-GPU buckets: by the largest free share, in tenths of a GPU. */
export const PARTIAL_STEPS = 10;
export const partialBucket = (freeMilli: number): number =>
  freeMilli <= 0
    ? -1
    : Math.min(PARTIAL_STEPS - 1, Math.floor((freeMilli * PARTIAL_STEPS) / WHOLE_GPU_MILLI));

/** Nodes of one GPU model in the inventory's buckets: by whole free GPUs, and those with a shared GPU. */
export interface ModelIndex {
  byFree: NodeState[][];
  /** Nodes with a shared GPU, by its largest free share in tenths of a GPU (0..9). */
  partial: Set<NodeState>[];
  /** The most any node of the model ever offered: lets a search skip a model that cannot fit. */
  maxVramMib: number;
  maxComputeCapability: number;
  tiers: Set<GpuTier | undefined>;
  /** Free GPU capacity (thousandths) of the model on schedulable nodes. */
  freeMilli: number;
  /** The node shapes that carry the model, counted: what a kind of job could ever fit on. */
  shapes: Map<string, NodeShape>;
}

export function newModelIndex(): ModelIndex {
  return {
    byFree: [],
    partial: Array.from({ length: PARTIAL_STEPS }, () => new Set<NodeState>()),
    maxVramMib: 0,
    maxComputeCapability: 0,
    tiers: new Set(),
    freeMilli: 0,
    shapes: new Map(),
  };
}

/** One model's free GPU capacity and the node shapes that carry it. */
export interface ModelCapacity {
  freeMilli: number;
  shapes: readonly NodeShape[];
}

/** GPUs of one model on a node, with the node's whole CPU and memory. */
export interface NodeShape {
  gpus: number;
  cpuMilli: number;
  memoryMib: number;
  count: number;
}

/** The key a group's shape is counted under in its model's `shapes`. */
export const shapeKeyOf = (group: GpuGroup, node: SchedulerNode): string =>
  `${group.indices.length}:${node.cpuMilli}:${node.memoryMib}`;
