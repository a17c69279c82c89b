import { WHOLE_GPU_MILLI } from "./demand.js";

/** A share of one GPU: `milli` thousandths of it (1000 for the whole GPU). */
export interface GpuShare {
  uuid: string;
  milli: number;
}

/** What one job attempt takes on one node. */
export interface NodeAllocation {
  nodeId: string;
  gpus: readonly GpuShare[];
  cpuMilli: number;
  memoryMib: number;
}

export interface ReservationMeta {
  /** The account charged for fair share. */
  accountId?: string | undefined;
  /** When the holder is expected to be done at the latest (ms), for backfill; undefined if unknown. */
  expectedEndAt?: number | undefined;
}

/** Capacity held under one key (an attempt id) on one or more nodes, all taken or none. */
export interface Reservation extends ReservationMeta {
  key: string;
  allocations: readonly NodeAllocation[];
}

/** Fair-share weight of an allocation in GPU-equivalents: a GPU, or 16 CPU cores. */
export function allocationUnits(allocation: NodeAllocation): number {
  let milli = 0;
  for (const share of allocation.gpus) milli += share.milli;
  return milli / WHOLE_GPU_MILLI + allocation.cpuMilli / 16_000;
}
