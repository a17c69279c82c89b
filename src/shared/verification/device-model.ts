import { type GpuModel, gpuModelById } from "../gpu-catalog.js";
import { challengeSizeFor, commitWindowMs, flopsOf } from "./challenge-size.js";
import {
  fillWindowMs,
  type MemoryWalkSize,
  memoryWalkFor,
  walkBytesOf,
  walkRateGBps,
  walkWindowMs,
  workingSetBytesOf,
} from "./memory-size.js";
import { CHUNK_BYTES, OPS_PER_STEP, OPS_PER_WORD } from "./memory-walk.js";
import { type Classification, classifyPart } from "./part-classifier.js";
import { ENTRIES_FIT_INT8 } from "./seeded-matrix.js";

/**
 * Modelled devices answering a challenge for a claimed part: how long each phase takes them and
 * what the real windows and the real classifier make of it. No GPU runs here, so the timings are
 * modelled from datasheets (and, for the CPU, from its cores and memory channels); the verdicts
 * are the verifier's own functions. bench:verify prints these; test/verification/impostors.test.ts
 * holds them to account.
 */

export interface ModelledDevice {
  name: string;
  vendor: GpuModel["vendor"] | "cpu";
  /** Sustained dense matmul rate on challenge entries that need more than 8 bits, TFLOP/s. */
  matmulTflops: number;
  /** The same where entries fit int8 (a CPU's int8 AMX runs twice its bf16 rate). */
  int8Tops: number;
  /** Sustained rate of random 64-byte reads, GB/s. */
  readGBps: number;
  /** Bytes it can give the working set. */
  memoryBytes: number;
  /** Sustained 32-bit integer operations per second. */
  intOps: number;
}

/** What nvidia-smi reports for a part: a little under vramGb · 1024 MiB (81,559 for an 80 GB H100). */
export function reportedVramMib(model: GpuModel): number {
  return Math.floor(model.vramGb * 1024 * 0.9956);
}

/** CUDA context, the walk's lane states and checkpoints, allocator slack. */
export const RUNNER_OVERHEAD_MIB = 768;

/**
 * A real part as plain PyTorch and a fused walk get it: 80% of datasheet matmul, 85% of datasheet
 * bandwidth on 64-byte random reads, 80% of its int32 rate, its reported VRAM less the runner.
 */
export function modelledGpu(
  id: string,
  efficiency = { compute: 0.8, bandwidth: 0.85, int: 0.8 },
): ModelledDevice {
  const model = gpuModelById(id);
  if (!model) throw new RangeError(`no ${id} in the catalogue`);
  return {
    name: id,
    vendor: model.vendor,
    matmulTflops: efficiency.compute * model.bf16Tflops,
    // Int8 tensor cores run twice bf16 (GeForce: four times); they matter only if entries fit int8.
    int8Tops: 2 * efficiency.compute * model.bf16Tflops,
    readGBps: efficiency.bandwidth * model.memoryBandwidthGBps,
    memoryBytes: (reportedVramMib(model) - RUNNER_OVERHEAD_MIB) * 2 ** 20,
    intOps: (efficiency.int * model.fp32Tflops * 1e12) / 4,
  };
}

/**
 * The fastest server CPU pair on sale (2× Xeon 6980P, 128 cores each): AMX runs 1,024 bf16 FLOP or
 * 2,048 int8 op per cycle per core, 524 TFLOP/s bf16 and 1,049 TOPS int8 at 2.0 GHz, taken at 70%
 * sustained; 2 × 12 channels of MRDIMM-8800 (1,690 GB/s) at a generous 85% for random lines;
 * terabytes of RAM; AVX-512 integer work at 256 cores × 32 lanes × 2.0 GHz.
 */
export const TOP_SERVER_CPU: ModelledDevice = {
  name: "2× Xeon 6980P (AMX, 24× MRDIMM-8800)",
  vendor: "cpu",
  matmulTflops: 0.7 * 524,
  int8Tops: 0.7 * 1049,
  readGBps: 0.85 * 1690,
  memoryBytes: 6 * 2 ** 40,
  intOps: 256 * 32 * 2.0e9,
};

/** Digests of C, the Merkle tree and the round trip after the products (the region times them). */
const COMPUTE_TAIL_MS = 1_000;
/** Checkpoint digests, the host's small tree and the round trip after the walk. */
const MEMORY_TAIL_MS = 300;

export interface PhaseModel {
  ms: number;
  windowMs: number;
  /** ms / windowMs: above 1, the deadline judges it. */
  late: number;
}

export interface ImpostorVerdict {
  device: string;
  claims: string;
  compute: PhaseModel;
  /** The fill (memory release → filled): generous, it proves nothing but liveness. */
  fill: PhaseModel;
  /** The walk (walk release → memory commit): the reads alone, what proves memory and bandwidth. */
  memory: PhaseModel & { residentFraction: number };
  /** Both phases in time: the part the region's figures classify as (listed and priced as). */
  listedAs: string | undefined;
  classification?: Classification;
  /** Not listed as the part it claims: a deadline missed, or the figures fit another part. */
  caught: boolean;
}

/**
 * The memory phase: the fill, then (its own window) a walk whose missing chunks are recreated
 * (reads and recreation overlap). `walkMs` includes the round trip and digests after the walk.
 */
export function memoryPhaseMs(
  device: ModelledDevice,
  size: MemoryWalkSize,
): { fillMs: number; walkMs: number; resident: number } {
  const resident = Math.min(1, device.memoryBytes / workingSetBytesOf(size));
  const walkBytes = walkBytesOf(size);
  const steps = walkBytes / CHUNK_BYTES;
  const regenBytesPerSecond = (device.intOps * 4) / OPS_PER_WORD;
  const fillMs = ((resident * size.words * OPS_PER_WORD) / device.intOps) * 1000;
  const walkMs =
    Math.max(
      (resident * walkBytes) / (device.readGBps * 1e9),
      ((1 - resident) * walkBytes) / regenBytesPerSecond,
      (steps * OPS_PER_STEP) / device.intOps,
    ) * 1000;
  return { fillMs: fillMs + MEMORY_TAIL_MS, walkMs: walkMs + MEMORY_TAIL_MS, resident };
}

/** A device's own time for each phase of a challenge for `claimed`. */
function phaseTimes(
  device: ModelledDevice,
  claimed: GpuModel,
): { computeMs: number; fillMs: number; walkMs: number; resident: number } {
  const size = challengeSizeFor(claimed);
  const rate = ENTRIES_FIT_INT8 ? Math.max(device.int8Tops, device.matmulTflops) : device.matmulTflops;
  const memory = memoryPhaseMs(device, memoryWalkFor(claimed, reportedVramMib(claimed)));
  return { computeMs: (flopsOf(size) / (rate * 1e12)) * 1000 + COMPUTE_TAIL_MS, ...memory };
}

const phase = (ms: number, windowMs: number): PhaseModel => ({ ms, windowMs, late: ms / windowMs });

/**
 * How `device` fares claiming `claimedId`, lying as well as it can: where it is faster than the
 * honest part it waits until the honest part would have answered (a deadline bounds only the
 * slow), so a faster device always passes for a slower one. `mimic: false` answers at once.
 */
export function judgeImpostor(
  device: ModelledDevice,
  claimedId: string,
  options: { mimic: boolean } = { mimic: true },
): ImpostorVerdict {
  const claimed = gpuModelById(claimedId);
  if (!claimed) throw new RangeError(`no ${claimedId} in the catalogue`);
  const size = challengeSizeFor(claimed);
  const walk = memoryWalkFor(claimed, reportedVramMib(claimed));
  const own = phaseTimes(device, claimed);
  const honest = options.mimic
    ? phaseTimes(modelledGpu(claimed.id), claimed)
    : { computeMs: 0, fillMs: 0, walkMs: 0 };
  const computeMs = Math.max(own.computeMs, honest.computeMs);
  const walkMs = Math.max(own.walkMs, honest.walkMs);
  const verdict: ImpostorVerdict = {
    device: device.name,
    claims: claimedId,
    compute: phase(computeMs, commitWindowMs(claimed, size)),
    fill: phase(Math.max(own.fillMs, honest.fillMs), fillWindowMs(claimed, walk)),
    memory: { ...phase(walkMs, walkWindowMs(claimed, walk)), residentFraction: own.resident },
    listedAs: undefined,
    caught: true,
  };
  if (verdict.compute.late > 1 || verdict.fill.late > 1 || verdict.memory.late > 1) return verdict;
  const classification = classifyPart(claimed, {
    tflops: flopsOf(size) / computeMs / 1e9,
    bandwidthGBps: walkRateGBps(walk, walkMs),
    provenVramMib: workingSetBytesOf(walk) / 2 ** 20,
  });
  const listedAs = classification.model?.id;
  return { ...verdict, listedAs, classification, caught: listedAs !== claimedId };
}
