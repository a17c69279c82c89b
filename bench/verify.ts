/**
 * bench:verify — proof-of-GPU verification costs.
 *  1. Verifier CPU time per challenge at production size (acceptReady + acceptCommit + acceptAnswer:
 *     seed, spot-check plan, row digests, digest-vector hashes, Merkle proofs, exact recomputation of
 *     the checked entries, judgement).
 *  1b. Sizing and the commit window per model: products at datasheet, the window, an honest part at
 *     80% and a part at 50% of the claimed speed (timings modelled, not measured).
 *  2. Agent-side challenge time on THIS MACHINE'S CPU for small n (TypeScript and gpu-bench.py's
 *     numpy backend) — a CPU figure, not a GPU one.
 *  3. GPU-time fraction under the re-challenge schedule, per model, simulated.
 *  4. The margin by which each impostor class misses the window (verify-impostors.ts, modelled).
 * Usage: npm run bench:verify [-- --iterations 50]
 */
import { cpus } from "node:os";
import { startBenchmark } from "../src/agent/verification/bench-runner.js";
import { hostProcessLauncher } from "../src/agent/verification/host-process-launcher.js";
import { GPU_CATALOG, type GpuModel, gpuModelById } from "../src/shared/gpu-catalog.js";
import type { PreparedBenchmark } from "../src/shared/verification/benchmark-session.js";
import { fromHex, toBase64, toHex } from "../src/shared/verification/bytes.js";
import { encodeRow } from "../src/shared/verification/canonical-value.js";
import {
  acceptAnswer,
  acceptCommit,
  acceptReady,
  issueChallenge,
} from "../src/shared/verification/challenge-lifecycle.js";
import { challengeSizeFor, commitWindowMs, computeMsAt } from "../src/shared/verification/challenge-size.js";
import { prepareCpuBenchmark } from "../src/shared/verification/cpu-benchmark.js";
import { reportedVramMib } from "../src/shared/verification/device-model.js";
import { memoryWalkFor } from "../src/shared/verification/memory-size.js";
import { leafDigest, merkleDepth, nodeDigest } from "../src/shared/verification/merkle.js";
import type { VerificationAnswer, VerificationChallenge } from "../src/shared/verification/messages.js";
import { cryptoRandomBytes, type RandomBytes } from "../src/shared/verification/random-source.js";
import {
  CLEAN_HISTORY_PASSES,
  DEFAULT_TARGET_FRACTION,
  ESTABLISHED_TARGET_FRACTION,
  estimateChallengeGpuMs,
  gpuTimeFraction,
  meanDelayFor,
  nextChallengeDelayMs,
  targetFractionFor,
} from "../src/shared/verification/rechallenge-schedule.js";
import { digestKeys, digestVectorBytes, rowDigest } from "../src/shared/verification/row-digest.js";
import { exactEntry, matrixKeys, rowOfA } from "../src/shared/verification/seeded-matrix.js";
import { planSpotChecks } from "../src/shared/verification/spot-check.js";
import { SPOT_CHECK_COLUMNS_PER_LEAF, SPOT_CHECK_LEAVES } from "../src/shared/verification/thresholds.js";
import { attestationVerifierCost } from "./verify-attestation.js";
import { formatTable } from "./verify-formats.js";
import { impostorTable } from "./verify-impostors.js";
import { walkVerifierCost } from "./verify-walk.js";

const NODE = "node_0123456789abcdefghjkmnpqrs";
const iterationsArg = process.argv.indexOf("--iterations");
const ITERATIONS = iterationsArg > 0 ? Number(process.argv[iterationsArg + 1]) : 50;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

/**
 * A production-size commitment cannot be computed on a CPU (that is the point), so the bench
 * builds one the verifier cannot tell apart: the opened rows are right at the columns it will
 * check (it draws them from a replayable source we also use), each opened row's digest sits in an
 * otherwise random digest vector of its block, every other leaf and sibling is random, and the
 * proofs are real paths to the root. The verifier does exactly its usual work.
 */
async function forgeAnswerable(challenge: VerificationChallenge, seed: string, random: () => RandomBytes) {
  const plan = planSpotChecks(
    challenge.n,
    challenge.blocks,
    SPOT_CHECK_LEAVES,
    SPOT_CHECK_COLUMNS_PER_LEAF,
    random(),
  );
  const keys = matrixKeys(seed, challenge.dtype);
  const key = digestKeys(keys, challenge.n);
  const rows = new Map<number, Uint8Array>();
  const vectors = new Map<number, Uint32Array>();
  for (const [i, leaf] of plan.leaves.entries()) {
    const values = new Int32Array(challenge.n);
    const aRow = rowOfA(keys, challenge.n, leaf % challenge.n);
    for (const column of plan.columns[i] ?? []) {
      values[column] = exactEntry(keys, challenge.n, aRow, Math.floor(leaf / challenge.n), column);
    }
    const row = encodeRow(values, challenge.dtype);
    rows.set(leaf, row);
    const block = Math.floor(leaf / challenge.n);
    const vector = vectors.get(block) ?? new Uint32Array(cryptoRandomBytes(4 * challenge.n).buffer.slice(0));
    vector[leaf % challenge.n] = rowDigest(row, key);
    vectors.set(block, vector);
  }
  const depth = merkleDepth(challenge.blocks);
  let level = new Map<number, Uint8Array>();
  for (const [block, vector] of vectors) level.set(block, await leafDigest(digestVectorBytes(vector)));
  const blockOf = (leaf: number): number => Math.floor(leaf / challenge.n);
  const proofs = new Map<number, string[]>(plan.leaves.map((leaf) => [leaf, []]));
  for (let d = 0; d < depth; d++) {
    const filler = new Map<number, Uint8Array>();
    const at = (index: number): Uint8Array => {
      const known = level.get(index) ?? filler.get(index);
      if (known) return known;
      const made = cryptoRandomBytes(32);
      filler.set(index, made);
      return made;
    };
    for (const leaf of plan.leaves) proofs.get(leaf)?.push(toHex(at((blockOf(leaf) >>> d) ^ 1)));
    const next = new Map<number, Uint8Array>();
    for (const index of level.keys()) {
      const parent = index >>> 1;
      if (!next.has(parent)) next.set(parent, await nodeDigest(at(parent * 2), at(parent * 2 + 1)));
    }
    level = next;
  }
  const root = toHex(level.get(0) ?? fromHex("00"));
  const answer: VerificationAnswer = {
    challengeId: challenge.id,
    openings: plan.leaves.map((leaf) => ({
      leaf,
      row: toBase64(rows.get(leaf) ?? new Uint8Array()),
      digests: toBase64(digestVectorBytes(vectors.get(blockOf(leaf)) ?? new Uint32Array())),
      proof: proofs.get(leaf) ?? [],
    })),
  };
  return { root, answer };
}

async function verifierCost(model: GpuModel): Promise<number> {
  const times: number[] = [];
  let outcome = "";
  // The first few runs pay for the JIT compiling the verifier; they are left out of the figures.
  const warmups = 5;
  for (let i = 0; i < warmups + ITERATIONS; i++) {
    const record = issueChallenge({
      nodeId: NODE,
      gpu: { uuid: "GPU-bench", model: model.id, vramMib: model.vramGb * 1000 },
      now: 0,
      // The compute phase's checks; the memory phase's are timed on their own (verify-walk.ts).
      memory: null,
    });
    const { challenge } = record;
    const readyStarted = performance.now();
    const ready = acceptReady(record, { challengeId: challenge.id }, { nodeId: NODE, now: 500 });
    if (ready.record.state !== "released") throw new Error("a compute-only challenge releases at once");
    const readyMs = performance.now() - readyStarted;
    // One random stream per iteration, read twice: by the forger, then by the verifier's plan.
    const stream = cryptoRandomBytes(4096);
    const random = (): RandomBytes => {
      let offset = 0;
      return (length) => {
        const out = stream.slice(offset, offset + length);
        offset += length;
        return out;
      };
    };
    const { root, answer } = await forgeAnswerable(challenge, ready.release.seed, random);
    const commit = {
      challengeId: challenge.id,
      root,
      measured: {
        matmulMs: 300,
        bandwidthGBps: 1,
        bandwidthBytes: challenge.bandwidthBytes,
        vramAllocatedMib: 1,
        totalMs: 1,
      },
      runner: { mode: "host-process" as const, backend: "bench", device: "bench" },
    };
    const started = performance.now();
    const committed = acceptCommit(ready.record, commit, { nodeId: NODE, now: 1_000, random: random() });
    const { judgement } = await acceptAnswer(committed.record, answer, { nodeId: NODE, now: 2_000 });
    if (i >= warmups) times.push(readyMs + performance.now() - started);
    const failed = judgement.reasons.some((r) =>
      ["wrong_entry", "proof_mismatch", "digest_mismatch", "malformed_row", "missing_opening"].includes(
        r.code,
      ),
    );
    outcome = `${judgement.checkedEntries} entries checked, openings ${failed ? "FAILED" : "accepted"}`;
  }
  times.sort((a, b) => a - b);
  const size = challengeSizeFor(model);
  console.log(
    `| ${model.id} | n=${size.n}, ${size.blocks} blocks | ${percentile(times, 50).toFixed(1)} ms | ${percentile(times, 99).toFixed(1)} ms | ${ITERATIONS} | ${outcome} |`,
  );
  return percentile(times, 50);
}

async function agentCpu(n: number, blocks: number): Promise<void> {
  const model = gpuModelById("H100-SXM");
  if (!model) throw new Error("catalogue");
  const { challenge } = issueChallenge({
    nodeId: NODE,
    gpu: { uuid: "GPU-bench", model: model.id, vramMib: 81_559 },
    now: 0,
    size: { n, blocks },
    memory: null,
  });
  const runs: Array<[string, () => Promise<PreparedBenchmark>]> = [
    ["TypeScript (cpu-benchmark.ts)", () => prepareCpuBenchmark(challenge)],
    [
      "gpu-bench.py numpy backend",
      () => startBenchmark(challenge, hostProcessLauncher({ backend: "numpy" })),
    ],
  ];
  const release = {
    challengeId: challenge.id,
    phase: "compute" as const,
    seed: toHex(cryptoRandomBytes(32)),
    releasedAt: 0,
    expiresAt: 0,
  };
  for (const [label, prepare] of runs) {
    if (label.startsWith("TypeScript") && n > 512) continue;
    const prepared = await prepare();
    const started = performance.now();
    const session = await prepared.run(release);
    const commitMs = performance.now() - started;
    await session.close();
    await prepared.close();
    const gflops = (2 * n ** 3 * blocks) / (session.commit.measured.matmulMs / 1000) / 1e9;
    console.log(
      `| CPU: ${label} | n=${n}, ${blocks} block(s) | ${commitMs.toFixed(0)} ms | ${session.commit.measured.matmulMs.toFixed(1)} ms | ${gflops.toFixed(1)} GFLOP/s |`,
    );
  }
}

/** The window the control plane enforces, against honest and half-speed parts (modelled timings). */
function windowRow(model: GpuModel): void {
  const size = challengeSizeFor(model);
  const windowMs = commitWindowMs(model, size);
  const honestMs = computeMsAt(model, size, 0.8);
  const halfMs = computeMsAt(model, size, 0.5);
  console.log(
    `| ${model.id} | n=${size.n}, ${size.blocks} blocks | ${(computeMsAt(model, size, 1) / 1000).toFixed(1)} s | ${(windowMs / 1000).toFixed(1)} s | ${(honestMs / 1000).toFixed(1)} s (${((windowMs - honestMs) / 1000).toFixed(1)} s spare) | ${(halfMs / 1000).toFixed(1)} s (${((halfMs - windowMs) / 1000).toFixed(1)} s late) |`,
  );
}

/** The share of GPU time over `intervals` challenges of a GPU that had `passesBefore` clean passes. */
function simulatedShare(busyMs: number, intervals: number, passesBefore: number): number {
  let busy = 0;
  let total = 0;
  for (let i = 0; i < intervals; i++) {
    const targetFraction = targetFractionFor(passesBefore + i + 1);
    const delay =
      nextChallengeDelayMs({ outcome: "verified", busyMs, random: cryptoRandomBytes, targetFraction }) ?? 0;
    busy += busyMs;
    total += busyMs + delay;
  }
  return busy / total;
}

/** A GPU's first 30 days from its first pass: the first CLEAN_HISTORY_PASSES intervals at 0.8%. */
function firstMonthShare(busyMs: number): number {
  const month = 30 * 24 * 3_600_000;
  let busy = 0;
  let total = 0;
  for (let passes = 1; total < month; passes++) {
    const targetFraction = targetFractionFor(passes);
    busy += busyMs;
    total +=
      busyMs +
      (nextChallengeDelayMs({ outcome: "verified", busyMs, random: cryptoRandomBytes, targetFraction }) ?? 0);
  }
  return busy / total;
}

function schedule(model: GpuModel): void {
  const size = challengeSizeFor(model);
  const busyMs = estimateChallengeGpuMs(model, size, memoryWalkFor(model, reportedVramMib(model)));
  const fresh = meanDelayFor(busyMs, DEFAULT_TARGET_FRACTION);
  const established = meanDelayFor(busyMs, ESTABLISHED_TARGET_FRACTION);
  console.log(
    `| ${model.id} | ${(busyMs / 1000).toFixed(1)} s | ${(fresh / 60_000).toFixed(0)} min | ${(gpuTimeFraction(busyMs, fresh) * 100).toFixed(2)}% | ${(established / 60_000).toFixed(0)} min | ${(simulatedShare(busyMs, 100_000, CLEAN_HISTORY_PASSES) * 100).toFixed(3)}% | ${(firstMonthShare(busyMs) * 100).toFixed(3)}% |`,
  );
}

console.log(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, node ${process.version}, ${new Date().toISOString()}\n`,
);
console.log("verifier CPU time per challenge (acceptReady + acceptCommit + acceptAnswer)\n");
console.log("| model | challenge | p50 | p99 | n | result |\n| --- | --- | --- | --- | --- | --- |");
const computeP50 = new Map<string, number>();
for (const id of ["H100-SXM", "B200", "RTX-3060"]) {
  const model = gpuModelById(id);
  if (model) computeP50.set(id, await verifierCost(model));
}
console.log("\ncommit window per model (release → commit deadline; products only, modelled)\n");
console.log(
  "| model | challenge | products at datasheet | window | at 80% of datasheet | at 50% (a lying slower part) |\n| --- | --- | --- | --- | --- | --- |",
);
for (const model of GPU_CATALOG) windowRow(model);
console.log("\nagent-side challenge time on this machine's CPU (NOT a GPU)\n");
console.log("| engine | size | release → commit | product time | rate |\n| --- | --- | --- | --- | --- |");
await agentCpu(256, 1);
await agentCpu(512, 2);
await agentCpu(1024, 2);
console.log("\nGPU-time fraction under the re-challenge schedule (100,000 simulated intervals)\n");
console.log(
  "| model | GPU held per challenge (est.) | mean interval, first passes | share then | mean interval, clean history | share, clean history (simulated) | share over the first 30 days (simulated) |\n| --- | --- | --- | --- | --- | --- | --- |",
);
for (const model of GPU_CATALOG) schedule(model);
console.log("\nverifier CPU time per challenge, memory phase (checkWalkOpenings: 8 segments replayed)\n");
console.log("| model | memory phase | p50 | p99 | n | result |\n| --- | --- | --- | --- | --- | --- |");
for (const id of ["H100-SXM", "H200", "B200", "RTX-3060"]) await walkVerifierCost(id);
console.log("\nverifier CPU time per attestation (verifyGpuAttestation: report + 5-certificate chain)\n");
console.log(
  "| evidence | p50 | p99 | n | result | against a challenge |\n| --- | --- | --- | --- | --- | --- |",
);
await attestationVerifierCost(computeP50.get("H100-SXM") ?? Number.NaN);
console.log("\nimpostor margins (modelled timings, the real windows and classifier)\n");
impostorTable();
console.log(
  "\nnumber formats: the honest part's native rate against the top server CPU's exact route (datasheet)\n",
);
formatTable();
