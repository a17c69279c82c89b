import type { BenchmarkSession, PreparedBenchmark } from "./benchmark-session.js";
import { toBase64 } from "./bytes.js";
import { encodeRow } from "./canonical-value.js";
import { chunksOf } from "./memory-size.js";
import { chunkAt, walkKeys } from "./memory-walk.js";
import { leafDigest, merkleLevels, merkleProof, rootOf } from "./merkle.js";
import type {
  ChallengeRelease,
  SpotCheckRequest,
  VerificationAnswer,
  VerificationChallenge,
  VerificationCommit,
} from "./messages.js";
import { digestKeys, digestVectorBytes, rowDigest } from "./row-digest.js";
import { fullMatrix, matrixKeys } from "./seeded-matrix.js";
import { commitWalk, type WalkProver, walkCheckpoints } from "./walk-commitment.js";
import type { WalkOpening } from "./walk-messages.js";

/**
 * The benchmark in plain TypeScript on the CPU: the reference the Python script is checked
 * against, the honest agent of the protocol tests, and the engine of CPU-only nodes. O(blocks·n³),
 * so for small n only (n = 256 takes tens of milliseconds per block). It keeps every row, which
 * the GPU script does not (it recomputes the few it opens), because at small n that is cheap.
 */

export const CPU_BENCHMARK_MAX_N = 1024;
/** Working sets past this (64 MiB) are for GPUs: the TypeScript walk is for tests and CPU nodes. */
export const CPU_BENCHMARK_MAX_WORDS = 16 * 1024 * 1024;

/** A working set filled on the CPU from the memory seed, held in an array until walked. */
export interface FilledSet {
  fillSeed: string;
  held: Uint32Array[];
}

/** The memory phase's fill on the CPU: every chunk of the working set, from the memory seed. */
export function fillOnCpu(challenge: VerificationChallenge, fillSeed: string): FilledSet {
  const spec = challenge.memory;
  if (spec === null) throw new RangeError("this challenge has no memory phase");
  if (spec.words > CPU_BENCHMARK_MAX_WORDS)
    throw new RangeError(`the CPU walk takes ≤ ${CPU_BENCHMARK_MAX_WORDS} words`);
  // The working set depends on the memory seed alone, so any walk seed gives the same chunks.
  const keys = walkKeys(matrixKeys(fillSeed), matrixKeys(fillSeed));
  return { fillSeed, held: Array.from({ length: chunksOf(spec) }, (_, chunk) => chunkAt(keys, chunk)) };
}

/** The memory phase's walk on the CPU over a filled working set, committed to. */
export async function walkOnCpu(
  challenge: VerificationChallenge,
  filled: FilledSet,
  walkSeed: string,
): Promise<WalkProver> {
  const spec = challenge.memory;
  if (spec === null) throw new RangeError("this challenge has no memory phase");
  const keys = walkKeys(matrixKeys(filled.fillSeed), matrixKeys(walkSeed));
  const { held } = filled;
  const checkpoints = walkCheckpoints(keys, spec, (chunk) => held[chunk] ?? chunkAt(keys, chunk));
  return commitWalk(keys, spec, checkpoints);
}

export function openWalk(prover: WalkProver, groups: readonly number[]): WalkOpening[] {
  return groups.map((group) => {
    const opened = prover.open(group);
    return {
      group,
      checkpoints: toBase64(new Uint8Array(opened.checkpoints.buffer.slice(0))),
      page: toBase64(opened.page),
      proof: opened.proof,
    };
  });
}

export interface ComputedProduct {
  root: string;
  n: number;
  /** Canonical bytes of every row, index = block · n + row. */
  rows: Uint8Array[];
  /** Each block's row-digest vector, as the bytes its leaf hashes. */
  digestVectors: Uint8Array[];
  levels: Uint8Array[][];
  matmulMs: number;
}

export async function computeProduct(
  challenge: VerificationChallenge,
  seed: string,
): Promise<ComputedProduct> {
  const { n, blocks, dtype } = challenge;
  if (n > CPU_BENCHMARK_MAX_N) throw new RangeError(`the CPU benchmark takes n ≤ ${CPU_BENCHMARK_MAX_N}`);
  const keys = matrixKeys(seed, dtype);
  const key = digestKeys(keys, n);
  const a = fullMatrix(keys, n, 0);
  const rows: Uint8Array[] = [];
  const digestVectors: Uint8Array[] = [];
  const sums = new Int32Array(n);
  let matmulMs = 0;
  for (let block = 0; block < blocks; block++) {
    const b = fullMatrix(keys, n, 1 + block);
    const digests = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      sums.fill(0);
      // i-l-j order walks B row by row, which is what keeps this loop cache-friendly.
      for (let l = 0; l < n; l++) {
        const ail = a[i * n + l] ?? 0;
        if (ail === 0) continue;
        const offset = l * n;
        for (let j = 0; j < n; j++) sums[j] = (sums[j] ?? 0) + ail * (b[offset + j] ?? 0);
      }
      matmulMs += performance.now() - started;
      const row = encodeRow(sums, dtype);
      digests[i] = rowDigest(row, key);
      rows.push(row);
    }
    digestVectors.push(digestVectorBytes(digests));
  }
  const leaves = await Promise.all(digestVectors.map((vector) => leafDigest(vector)));
  const levels = await merkleLevels(leaves);
  return { root: rootOf(levels), n, rows, digestVectors, levels, matmulMs };
}

export function openLeaves(product: ComputedProduct, request: SpotCheckRequest): VerificationAnswer {
  return {
    challengeId: request.challengeId,
    openings: request.leaves.map((leaf) => {
      const row = product.rows[leaf];
      const block = Math.floor(leaf / product.n);
      const digests = product.digestVectors[block];
      if (row === undefined || digests === undefined) throw new RangeError(`no row ${leaf}`);
      return {
        leaf,
        row: toBase64(row),
        digests: toBase64(digests),
        proof: merkleProof(product.levels, block),
      };
    }),
  };
}

/** Copies a buffer a few times; bytes read + written per second, as the GPU script counts them. */
function hostCopyGBps(bytes: number): number {
  const source = new Uint8Array(bytes).fill(1);
  const target = new Uint8Array(bytes);
  const rounds = 4;
  const started = performance.now();
  for (let round = 0; round < rounds; round++) target.set(source);
  const seconds = Math.max((performance.now() - started) / 1000, 1e-6);
  return (2 * bytes * rounds) / seconds / 1e9;
}

export interface CpuBenchmarkOptions {
  /** Host buffer for the copy test; far below the 1 GiB a GPU test uses, so CPU runs stay light. */
  bandwidthBytes?: number;
}

/** Prepares the challenge on this CPU (the copy test); `run` computes it, labelled as a CPU run. */
export async function prepareCpuBenchmark(
  challenge: VerificationChallenge,
  options: CpuBenchmarkOptions = {},
): Promise<PreparedBenchmark> {
  const bandwidthBytes = options.bandwidthBytes ?? 64 * 1024 * 1024;
  const bandwidthGBps = hostCopyGBps(bandwidthBytes);
  let closed = false;
  let filled: FilledSet | undefined;
  let walked: WalkProver | undefined;
  return {
    fill: async (release: ChallengeRelease): Promise<void> => {
      if (closed) throw new Error("the benchmark is closed");
      filled = fillOnCpu(challenge, release.seed);
    },
    walk: async (release: ChallengeRelease): Promise<string> => {
      if (closed) throw new Error("the benchmark is closed");
      if (filled === undefined) throw new Error("walked before the working set was filled");
      walked = await walkOnCpu(challenge, filled, release.seed);
      filled = undefined;
      return walked.root;
    },
    run: async (release: ChallengeRelease): Promise<BenchmarkSession> => {
      if (closed) throw new Error("the benchmark is closed");
      const started = performance.now();
      const product = await computeProduct(challenge, release.seed);
      const commit: VerificationCommit = {
        challengeId: challenge.id,
        root: product.root,
        measured: {
          matmulMs: Math.max(product.matmulMs, 1e-3),
          bandwidthGBps,
          bandwidthBytes,
          vramAllocatedMib: 0,
          totalMs: performance.now() - started,
        },
        runner: { mode: "typescript-cpu", backend: "typescript cpu", device: "cpu" },
      };
      let held: ComputedProduct | undefined = product;
      return {
        commit,
        answer: async (request) => {
          if (held === undefined) throw new Error("the benchmark session is closed");
          const answer = openLeaves(held, request);
          if (request.walkGroups === undefined) return answer;
          if (walked === undefined) throw new Error("asked for walk openings without a walk");
          return { ...answer, walk: openWalk(walked, request.walkGroups) };
        },
        close: async () => {
          held = undefined;
          walked = undefined;
        },
      };
    },
    close: async () => {
      closed = true;
    },
  };
}
