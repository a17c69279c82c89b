import { hash32, type MatrixKeys, streamConstant } from "./seeded-matrix.js";

/**
 * The memory phase of a challenge (issue 14 item 3): a working set that must sit in the claimed
 * VRAM, read by a walk whose addresses depend on what it reads, so only a part with that much
 * memory and that bandwidth finishes in time. gpu-bench.py implements exactly these functions.
 *
 * - **The working set is incompressible and dear to regenerate.** Word i is the output of
 *   WORD_ROUNDS rounds of a 64-bit-state mixer keyed by the seed: pseudo-random, so it packs into
 *   no fewer bytes (C's blocks, kept resident before, packed to ~65%); a 64-bit state, so no table
 *   of 2^32 entries shortcuts it; ~20 integer operations a round, so a part that does not hold a
 *   word pays ~80 operations a byte each time the walk reads it: 10–50× slower than reading it
 *   from HBM, even for the part with the most integer throughput (device-model.ts).
 * - **The walk reads at the part's bandwidth, and every read decides the next.** Each lane reads a
 *   chunk (CHUNK_WORDS words, one 64-byte line), folds every word into its state nonlinearly (so
 *   nothing about a chunk can be precomputed smaller than the chunk), and the new state picks the
 *   next chunk. Millions of lanes keep HBM busy; no lane can run ahead of its reads.
 * - **The walk is timed apart from the fill.** The working set comes from the memory seed; the
 *   lanes' start states and checkpoint keys come from a second seed, the walk seed, released only
 *   once the agent says the working set is filled. So no lane can start before that release, and
 *   the walk's window (walk release → memory commit, on the region's clock) times the reads alone:
 *   a device that fills fast (many integer lanes) gains nothing in it.
 * - **The verifier checks it cheaply.** Lanes report their state after every SEGMENT of steps; a
 *   planned segment is replayed on the CPU from the seed alone (its words regenerated, ~32 hash32
 *   each), millions of times cheaper than the walk. A lane that skipped or faked a read breaks
 *   the segment it lies in.
 */

/** 32-bit words per chunk: one 64-byte line, the unit of a walk's read. */
export const CHUNK_WORDS = 16;
export const CHUNK_BYTES = CHUNK_WORDS * 4;
/** Mixer rounds per working-set word: what a part short of memory pays per word it must recreate. */
export const WORD_ROUNDS = 16;
/** Integer operations per word (2 hash32 of ~8 operations and ~4 more, per round). */
export const OPS_PER_WORD = WORD_ROUNDS * 20;
/** Integer operations per walk step on top of its read (4 per word folded, a hash32, the index). */
export const OPS_PER_STEP = CHUNK_WORDS * 4 + 12;

/** Streams past every B block and the row-digest keys (row-digest.ts uses 0xffffffff). */
const WORD_STREAM = 0xfffffff0;
const LANE_STREAM = 0xfffffff1;
const CHECKPOINT_STREAM = 0xfffffff2;
/** Of the walk seed: the lanes' start states. */
const START_STREAM = 0xfffffff3;
/** The fold's multiplier: odd and below 2^31, so int64 arithmetic in numpy and PyTorch is exact. */
const FOLD_MULTIPLIER = 0x5bd1e995;

/**
 * The per-challenge constants of the memory phase: the working set's (k0, k1, word, lane) from
 * the memory seed, the lanes' starts and checkpoint keys (start, checkpoint) from the walk seed.
 */
export interface WalkKeys {
  readonly k0: number;
  readonly k1: number;
  readonly word: number;
  readonly lane: number;
  readonly start: number;
  readonly checkpoint: number;
}

/** `fill` from the memory seed, `walk` from the walk seed (matrixKeys of each). */
export function walkKeys(fill: MatrixKeys, walk: MatrixKeys): WalkKeys {
  return {
    k0: fill.k0,
    k1: fill.k1,
    word: streamConstant(fill, WORD_STREAM),
    lane: streamConstant(fill, LANE_STREAM),
    start: streamConstant(walk, START_STREAM),
    checkpoint: streamConstant(walk, CHECKPOINT_STREAM),
  };
}

/** Word `index` of the working set (index < 2^40). */
export function workingSetWord(keys: WalkKeys, index: number): number {
  const lo = index >>> 0;
  const hi = Math.floor(index / 2 ** 32) >>> 0;
  let a = (lo ^ keys.k0) >>> 0;
  let b = (hi ^ keys.k1) >>> 0;
  for (let round = 0; round < WORD_ROUNDS; round++) {
    a = hash32((((a ^ keys.word) >>> 0) + b + round) >>> 0);
    b = hash32((((b ^ keys.lane) >>> 0) + a) >>> 0);
  }
  return (a ^ b) >>> 0;
}

/** Chunk `chunk` of the working set: words chunk·CHUNK_WORDS … +CHUNK_WORDS−1. */
export function chunkAt(keys: WalkKeys, chunk: number): Uint32Array {
  const out = new Uint32Array(CHUNK_WORDS);
  const base = chunk * CHUNK_WORDS;
  for (let j = 0; j < CHUNK_WORDS; j++) out[j] = workingSetWord(keys, base + j);
  return out;
}

/** A lane's state before its first step: known only once the walk seed is released. */
export function laneStart(keys: WalkKeys, lane: number): number {
  return hash32((hash32((lane ^ keys.start) >>> 0) ^ keys.lane) >>> 0);
}

/** The chunk a lane in `state` reads next. */
export function chunkOf(state: number, chunks: number): number {
  return state % chunks;
}

/**
 * One step: fold the chunk read into the state, word by word (xor, multiply, shift: nonlinear, so
 * no sum over a chunk can stand in for it), then hash with the step number so no two steps of a
 * lane repeat a pattern.
 */
export function walkStep(state: number, chunk: ArrayLike<number>, step: number): number {
  let v = state;
  for (let j = 0; j < CHUNK_WORDS; j++) {
    v = Math.imul((v ^ (chunk[j] ?? 0)) >>> 0, FOLD_MULTIPLIER) >>> 0;
    v = (v ^ (v >>> 15)) >>> 0;
  }
  return hash32((v ^ step) >>> 0);
}

/** Where the words come from in a replay: regenerated from the seed, or a prover's own copy. */
export type ChunkSource = (chunk: number) => ArrayLike<number>;

/**
 * Runs `steps` steps of a lane from `state`, the first being step number `firstStep`; returns the
 * state after them. The verifier replays a segment with `chunkAt` as the source.
 */
export function runLane(
  state: number,
  firstStep: number,
  steps: number,
  chunks: number,
  source: ChunkSource,
): number {
  let s = state;
  for (let t = firstStep; t < firstStep + steps; t++) s = walkStep(s, source(chunkOf(s, chunks)), t);
  return s;
}

/** The key a checkpoint is digested with: checkpoint `index` = lane · segments + segment. */
export function checkpointKey(keys: WalkKeys, index: number): number {
  return hash32((hash32((index ^ keys.start) >>> 0) ^ keys.checkpoint) >>> 0);
}
