import type { GpuModel } from "../gpu-catalog.js";
import type { ChallengeDtype } from "./canonical-value.js";
import { MAX_BLOCKS, MAX_MATRIX_SIZE, MIN_BANDWIDTH_BYTES } from "./messages.js";
import { COMPUTE_REJECT_BELOW } from "./thresholds.js";

/**
 * How big a challenge is for a model, and how long its commit may take. The work must be large
 * enough that a CPU cannot finish it inside the commit window even if it lies about its timings
 * (the window, not the self-reported time, is what the agent cannot fake), and small enough that
 * the agent's hashing of C and the GPU-time budget stay modest.
 */

export interface ChallengeSize {
  n: number;
  blocks: number;
  dtype: ChallengeDtype;
  bandwidthBytes: number;
}

export interface WindowOptions {
  /**
   * Starting the benchmark: a container (image pre-pulled) or a Python process, importing PyTorch,
   * creating the CUDA context, generating the matrices. Generous, because it is the part a
   * cheating CPU gets for free; see docs/BENCHMARKS.md for the consequence.
   */
  setupAllowanceMs: number;
  /** The slowest row hashing the agent is granted, bytes per millisecond (1 GB/s = 1e6). */
  hashBytesPerMs: number;
  /** Bandwidth test and VRAM fill. */
  memoryTestAllowanceMs: number;
}

export const DEFAULT_WINDOW: WindowOptions = {
  setupAllowanceMs: 30_000,
  hashBytesPerMs: 1e6,
  memoryTestAllowanceMs: 5_000,
};

/** Aim the verified work at this much GPU time at the verified threshold. */
const TARGET_COMPUTE_MS = 250;

function nextPowerOfTwo(value: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, value)));
}

export function flopsOf(size: Pick<ChallengeSize, "n" | "blocks">): number {
  return 2 * size.n ** 3 * size.blocks;
}

export function datasheetTflops(model: GpuModel, dtype: ChallengeDtype): number {
  return dtype === "bf16" ? model.bf16Tflops : model.fp16Tflops;
}

/** 16384 where A, B and C (1.5 GiB in bf16) are small against the VRAM, else 8192. */
export function challengeSizeFor(model: GpuModel, dtype: ChallengeDtype = "bf16"): ChallengeSize {
  const n = model.vramGb >= 40 ? MAX_MATRIX_SIZE : 8192;
  const flopsPerBlock = 2 * n ** 3;
  const atThreshold = 0.7 * datasheetTflops(model, dtype) * 1e12;
  const blocks = Math.min(
    MAX_BLOCKS / 4,
    nextPowerOfTwo((atThreshold * TARGET_COMPUTE_MS) / 1000 / flopsPerBlock),
  );
  return { n, blocks, dtype, bandwidthBytes: 2 * MIN_BANDWIDTH_BYTES };
}

/**
 * The commit window: setup, hashing every row of C at the slowest granted rate, the memory tests,
 * and the products at the rejection floor (35% of datasheet), so an honest but busy GPU still
 * commits in time and is judged on its figures rather than on lateness.
 */
export function commitWindowMs(
  model: GpuModel,
  size: ChallengeSize,
  options: WindowOptions = DEFAULT_WINDOW,
): number {
  const computeMs =
    (flopsOf(size) / (COMPUTE_REJECT_BELOW * datasheetTflops(model, size.dtype) * 1e12)) * 1000;
  const hashMs = (size.blocks * size.n * size.n * 2) / options.hashBytesPerMs;
  return Math.ceil(options.setupAllowanceMs + options.memoryTestAllowanceMs + computeMs + hashMs);
}
