/**
 * The challenge's matrices, derived from its 32-byte seed by a counter-based generator, so that the
 * agent (Python/PyTorch on the GPU, see src/agent/verification/gpu-bench.py) and the verifier
 * (this file, on the CPU) produce the same entry from (seed, matrix, row, column) without either
 * holding the whole matrix. gpu-bench.py implements exactly these functions; the cross-check test
 * in test/verification proves the two agree.
 *
 * bf16 challenges (production) take integers in [-256, 256]: exact in bf16 (8 significant bits),
 * but 9 bits wide, so neither int8 (a CPU's AMX/VNNI fast path, twice its bf16 rate; a GPU's int8
 * tensor cores) nor fp8 can hold them: every prover multiplies at its bf16 rate (issue 14 item 4,
 * device-model.ts). The products (< 2^17) are exact in fp32; a sum of 16,384 of them (σ ≈ 2^21.4)
 * can pass 2^24 and round in the last fp32 bit, far below the bf16 ulp the verifier allows.
 * fp16 challenges keep [-2, 2] so C fits fp16's range; they fit int8, so they are for tests only.
 */

/** Entries of a challenge of each dtype lie in [-half, half]. */
export const ENTRY_HALF_RANGE: Readonly<Record<ChallengeDtype, number>> = { bf16: 256, fp16: 2 };
/** Whether production (bf16) entries fit int8: they must not (device-model.ts models both). */
export const ENTRIES_FIT_INT8 = ENTRY_HALF_RANGE.bf16 <= 127;

import type { ChallengeDtype } from "./canonical-value.js";

/**
 * A 32-bit integer hash (hash-prospector's best two-round "xorshift-multiply" constants). Both
 * multipliers are below 2^31 on purpose: a 32-bit value times one of them fits in a signed 64-bit
 * integer, so numpy and PyTorch int64 arithmetic reproduce Math.imul exactly without wrapping.
 */
export function hash32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x21f0aaad);
  h ^= h >>> 15;
  h = Math.imul(h, 0x735a2d97);
  h ^= h >>> 15;
  return h >>> 0;
}

/** The per-challenge keys: every one of the seed's 256 bits affects them. */
export interface MatrixKeys {
  readonly k0: number;
  readonly k1: number;
  readonly k2: number;
  readonly k3: number;
  /** Entries lie in [-half, half] (ENTRY_HALF_RANGE of the challenge's dtype). */
  readonly half: number;
}

export function matrixKeys(seedHex: string, dtype: ChallengeDtype = "bf16"): MatrixKeys {
  if (!/^[0-9a-f]{64}$/.test(seedHex)) throw new RangeError("a seed is 64 lower-case hex digits");
  const words = Array.from({ length: 8 }, (_, w) => Number.parseInt(seedHex.slice(w * 8, w * 8 + 8), 16));
  const word = (w: number): number => words[w] ?? 0;
  return {
    k0: (word(0) ^ word(4)) >>> 0,
    k1: (word(1) ^ word(5)) >>> 0,
    k2: (word(2) ^ word(6)) >>> 0,
    k3: (word(3) ^ word(7)) >>> 0,
    half: ENTRY_HALF_RANGE[dtype],
  };
}

/**
 * Stream 0 is A; stream 1 + b is the b-th B block. A per-stream constant keeps the streams
 * independent while every stream stays a bijection of the element index.
 */
export function streamConstant(keys: MatrixKeys, stream: number): number {
  return (keys.k1 ^ hash32((stream ^ keys.k2) >>> 0) ^ keys.k3) >>> 0;
}

/** The entry at element index `index` (row · n + column) of a stream, in [-half, half]. */
export function entryAt(keys: MatrixKeys, streamConst: number, index: number): number {
  const raw = hash32((hash32((index ^ keys.k0) >>> 0) ^ streamConst) >>> 0);
  return (raw % (2 * keys.half + 1)) - keys.half;
}

/** Row `row` of A (n entries). */
export function rowOfA(keys: MatrixKeys, n: number, row: number): Int16Array {
  const c = streamConstant(keys, 0);
  const out = new Int16Array(n);
  const base = row * n;
  for (let j = 0; j < n; j++) out[j] = entryAt(keys, c, base + j);
  return out;
}

/** Column `column` of block `block` of B (n entries). */
export function columnOfB(keys: MatrixKeys, n: number, block: number, column: number): Int16Array {
  const c = streamConstant(keys, 1 + block);
  const out = new Int16Array(n);
  for (let l = 0; l < n; l++) out[l] = entryAt(keys, c, l * n + column);
  return out;
}

/** The whole of A or of one B block, row-major (small n only: the TS benchmark and tests). */
export function fullMatrix(keys: MatrixKeys, n: number, stream: number): Int16Array {
  const c = streamConstant(keys, stream);
  const out = new Int16Array(n * n);
  for (let index = 0; index < n * n; index++) out[index] = entryAt(keys, c, index);
  return out;
}

/** The exact integer C_b[row][column] = A[row,:] · B_b[:,column], given A's row. O(n). */
export function exactEntry(
  keys: MatrixKeys,
  n: number,
  aRow: Int16Array,
  block: number,
  column: number,
): number {
  const c = streamConstant(keys, 1 + block);
  let sum = 0;
  for (let l = 0; l < n; l++) sum += (aRow[l] ?? 0) * entryAt(keys, c, l * n + column);
  return sum;
}
