import type { GpuModel } from "../gpu-catalog.js";
import { CHUNK_BYTES, CHUNK_WORDS, OPS_PER_WORD } from "./memory-walk.js";

/**
 * How big a challenge's memory phase is for a claimed part, and its two windows. The working set
 * is WORKING_SET_FRACTION of the claimed VRAM (what nvidia-smi reports), so a part with less
 * memory cannot hold it. The fill (memory seed release → "filled") is bounded generously: it is
 * liveness, not proof. The walk has its own seed, released once the fill is done, and its own
 * window (walk release → memory commit, on the region's clock): it reads WALK_DATASHEET_MS worth
 * of the claimed part's datasheet bandwidth and is allowed it at WALK_BANDWIDTH_FRACTION of that
 * rate plus a small fixed allowance. Timed apart from the fill, the window measures the reads
 * alone: a device with a fast fill (a CPU's AVX-512 integer lanes, a pair of smaller GPUs each
 * filling half) can no longer buy walk time with it (device-model.ts, pooled-model.ts).
 */

export const WORKING_SET_FRACTION = 0.9;
/**
 * The walk at the claimed part's datasheet bandwidth: long against the fixed allowance (which an
 * impostor also gets), short on GPU time (~0.03 percentage points of the 0.4% share).
 */
export const WALK_DATASHEET_MS = 5_000;
/**
 * The walk window allows its reads at 80% of datasheet: an honest part reading random 64-byte
 * lines at 85% (the modelled rate; item 8 has not measured one) commits with ~7% to spare, and
 * the top server CPU claiming an A100-80GB (74% of its datasheet) is ~6% late. A walk kernel
 * below ~79% of datasheet misses it: that is the price of separating those two.
 */
export const WALK_BANDWIDTH_FRACTION = 0.8;
/** Round trips, the checkpoint digests and the host's small Merkle tree over them. */
export const WALK_ALLOWANCE_MS = 400;
/**
 * The fill is allowed at FILL_FRACTION of the part's integer rate, plus FILL_ALLOWANCE_MS. It
 * proves nothing (the walk's own window does), so the allowance is generous: it covers the eager
 * torch fill (~30 s of int64 temporaries for an H100, should torch.compile fail) and only bounds
 * how long a hung runner holds the challenge.
 */
export const FILL_FRACTION = 0.25;
export const FILL_ALLOWANCE_MS = 30_000;
/** Steps between a lane's reported states: what one verifier replay costs (~0.3 M hash32). */
export const SEGMENT_STEPS = 1024;
/** Lanes walking at once: far more than a GPU needs in flight to saturate HBM. */
export const WALK_LANES = 2 ** 22;
/** Lanes whose checkpoints are digested together: what one opening carries. */
export const GROUP_LANES = 64;
/** Group digests hashed into one Merkle leaf (4 KiB). */
export const PAGE_GROUPS = 1024;

export interface MemoryWalkSize {
  /** Words in the working set, a multiple of CHUNK_WORDS. */
  words: number;
  lanes: number;
  segmentSteps: number;
  /** Segments per lane: each lane takes segments · segmentSteps steps. */
  segments: number;
  groupLanes: number;
  pageGroups: number;
}

export function chunksOf(size: Pick<MemoryWalkSize, "words">): number {
  return size.words / CHUNK_WORDS;
}

export function walkBytesOf(size: Pick<MemoryWalkSize, "lanes" | "segments" | "segmentSteps">): number {
  return size.lanes * size.segments * size.segmentSteps * CHUNK_BYTES;
}

export function workingSetBytesOf(size: Pick<MemoryWalkSize, "words">): number {
  return size.words * 4;
}

export function groupsOf(size: Pick<MemoryWalkSize, "lanes" | "groupLanes">): number {
  return Math.ceil(size.lanes / size.groupLanes);
}

/**
 * Integer operations per second of a part: the int32 lanes are half the fp32 lanes on Ampere,
 * Ada, Hopper and Blackwell, and an fp32 FMA counts twice in fp32Tflops.
 */
export function intOpsPerSecond(model: GpuModel): number {
  return (model.fp32Tflops * 1e12) / 4;
}

/** The memory phase for a part claiming `vramMib` of a `model`. */
export function memoryWalkFor(model: GpuModel, vramMib: number): MemoryWalkSize {
  const bytes = Math.floor(WORKING_SET_FRACTION * vramMib) * 1024 * 1024;
  const words = Math.max(CHUNK_WORDS, Math.floor(bytes / 4 / CHUNK_WORDS) * CHUNK_WORDS);
  const steps = (model.memoryBandwidthGBps * 1e9 * WALK_DATASHEET_MS) / 1000 / CHUNK_BYTES;
  const segments = Math.max(1, Math.round(steps / WALK_LANES / SEGMENT_STEPS));
  return {
    words,
    lanes: WALK_LANES,
    segmentSteps: SEGMENT_STEPS,
    segments,
    groupLanes: GROUP_LANES,
    pageGroups: PAGE_GROUPS,
  };
}

/** Filling the working set at `fraction` of the part's integer rate, milliseconds. */
export function fillMsAt(model: GpuModel, size: Pick<MemoryWalkSize, "words">, fraction: number): number {
  return ((size.words * OPS_PER_WORD) / (fraction * intOpsPerSecond(model))) * 1000;
}

/** The walk's reads at `fraction` of the part's datasheet bandwidth, milliseconds. */
export function walkMsAt(
  model: GpuModel,
  size: Pick<MemoryWalkSize, "lanes" | "segments" | "segmentSteps">,
  fraction: number,
): number {
  return (walkBytesOf(size) / (fraction * model.memoryBandwidthGBps * 1e9)) * 1000;
}

/** From the memory seed's release to the "filled" deadline: generous, it proves nothing. */
export function fillWindowMs(model: GpuModel, size: Pick<MemoryWalkSize, "words">): number {
  return Math.ceil(fillMsAt(model, size, FILL_FRACTION) + FILL_ALLOWANCE_MS);
}

/** From the walk seed's release to the memory commit's deadline: the reads at 80% of datasheet. */
export function walkWindowMs(
  model: GpuModel,
  size: Pick<MemoryWalkSize, "lanes" | "segments" | "segmentSteps">,
): number {
  return Math.ceil(walkMsAt(model, size, WALK_BANDWIDTH_FRACTION) + WALK_ALLOWANCE_MS);
}

/**
 * The walk's read rate as the region measures it: walk bytes over walk release → memory commit
 * (round trips and the checkpoint digests included, the fill not), in GB/s.
 */
export function walkRateGBps(
  size: Pick<MemoryWalkSize, "lanes" | "segments" | "segmentSteps">,
  elapsedMs: number,
): number {
  return walkBytesOf(size) / (Math.max(1, elapsedMs) / 1000) / 1e9;
}
