import type { GpuModel } from "../gpu-catalog.js";
import type { ChallengeDtype } from "./canonical-value.js";
import { MAX_BLOCKS, MAX_MATRIX_SIZE, MIN_BANDWIDTH_BYTES } from "./messages.js";

/**
 * How big a challenge is for a model, and its two deadlines. Setup (runner start, VRAM fill,
 * bandwidth test, warm-up) happens before the seed is released and is bounded only generously;
 * the commit window after release is what a node cannot fake, so it is sized to be compute-bound:
 * the products take ~19 s at the claimed model's datasheet rate, and the window allows them at
 * 60% of it plus a few seconds. A part at half the claimed speed needs 2T against T/0.6 + a few
 * seconds and misses it, whatever timings it reports.
 */

export interface ChallengeSize {
  n: number;
  blocks: number;
  dtype: ChallengeDtype;
  bandwidthBytes: number;
}

export interface WindowOptions {
  /** From issue to ready: start the runner (container or Python, PyTorch import, CUDA context). */
  readyAllowanceMs: number;
  /** The commit window allows the products at this fraction of the datasheet rate. */
  computeFraction: number;
  /**
   * On top of the products: generating B blocks and digesting C on the GPU (fused, a fraction of a
   * millisecond per block), SHA-256 of the digest vectors and the Merkle tree, the round trips.
   */
  commitAllowanceMs: number;
}

export const DEFAULT_WINDOW: WindowOptions = {
  readyAllowanceMs: 120_000,
  computeFraction: 0.6,
  commitAllowanceMs: 3_000,
};

/**
 * The products' time at the datasheet rate: long enough that the fixed allowance is small against
 * it (a half-speed part is then 3.3 s late: 38 s against 31.7 + 3), short enough for the GPU-time
 * budget.
 */
export const TARGET_DATASHEET_MS = 19_000;

export function flopsOf(size: Pick<ChallengeSize, "n" | "blocks">): number {
  return 2 * size.n ** 3 * size.blocks;
}

export function datasheetTflops(model: GpuModel, dtype: ChallengeDtype): number {
  return dtype === "bf16" ? model.bf16Tflops : model.fp16Tflops;
}

/** Milliseconds the challenge's products take at `fraction` of the model's datasheet rate. */
export function computeMsAt(model: GpuModel, size: ChallengeSize, fraction: number): number {
  return (flopsOf(size) / (fraction * datasheetTflops(model, size.dtype) * 1e12)) * 1000;
}

/**
 * 16384 where A, B and C (1.5 GiB in bf16) are small against the VRAM, else 8192; as many blocks
 * as make TARGET_DATASHEET_MS of products (thousands for an H100). Blocks are generated, multiplied,
 * digested and dropped one at a time, so the count costs time, never memory.
 */
export function challengeSizeFor(model: GpuModel, dtype: ChallengeDtype = "bf16"): ChallengeSize {
  const n = model.vramGb >= 40 ? MAX_MATRIX_SIZE : 8192;
  const flopsPerBlock = 2 * n ** 3;
  const datasheet = datasheetTflops(model, dtype) * 1e12;
  const blocks = Math.min(
    MAX_BLOCKS,
    Math.max(1, Math.round((datasheet * TARGET_DATASHEET_MS) / 1000 / flopsPerBlock)),
  );
  return { n, blocks, dtype, bandwidthBytes: 2 * MIN_BANDWIDTH_BYTES };
}

/** From release to the commit deadline: the products at `computeFraction`, plus the allowance. */
export function commitWindowMs(
  model: GpuModel,
  size: ChallengeSize,
  options: WindowOptions = DEFAULT_WINDOW,
): number {
  return Math.ceil(computeMsAt(model, size, options.computeFraction) + options.commitAllowanceMs);
}
