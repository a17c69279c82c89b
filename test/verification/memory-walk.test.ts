import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { toBase64, toHex } from "../../src/shared/verification/bytes.js";
import { chunksOf, type MemoryWalkSize } from "../../src/shared/verification/memory-size.js";
import {
  CHUNK_WORDS,
  type ChunkSource,
  chunkAt,
  laneStart,
  walkKeys,
  workingSetWord,
} from "../../src/shared/verification/memory-walk.js";
import { matrixKeys } from "../../src/shared/verification/seeded-matrix.js";
import { checkWalkOpenings, planWalkChecks, WALK_CHECKS } from "../../src/shared/verification/walk-check.js";
import { commitWalk, walkCheckpoints } from "../../src/shared/verification/walk-commitment.js";
import type { WalkOpening } from "../../src/shared/verification/walk-messages.js";
import { seededRandom } from "./support.js";

/**
 * The memory phase's walk at a size a test can run for real: 4,096 chunks, 128 lanes of 4
 * segments of 16 steps. The honest prover holds every chunk; the liars hold 60% of them (a part
 * short of memory), and either fake the reads they cannot make or recreate the missing words.
 */
const SIZE: MemoryWalkSize = {
  words: 4096 * CHUNK_WORDS,
  lanes: 128,
  segmentSteps: 16,
  segments: 4,
  groupLanes: 8,
  pageGroups: 4,
};

const seedOf = (i: number): string => toHex(seededRandom(1000 + i)(32));

function wire(prover: Awaited<ReturnType<typeof commitWalk>>, groups: readonly number[]): WalkOpening[] {
  return groups.map((group) => {
    const opened = prover.open(group);
    const checkpoints = new Uint8Array(opened.checkpoints.buffer.slice(0));
    return { group, checkpoints: toBase64(checkpoints), page: toBase64(opened.page), proof: opened.proof };
  });
}

/** A prover holding `held` of the chunks: the rest are faked (zeros) or recreated (counted). */
function shortOfMemory(
  keys: ReturnType<typeof walkKeys>,
  held: number,
  missing: "fake" | "recreate",
): { source: ChunkSource; recreatedWords: () => number } {
  const store = new Map<number, Uint32Array>();
  for (let chunk = 0; chunk < chunksOf(SIZE); chunk++) {
    if ((chunk * 0.618034) % 1 < held) store.set(chunk, chunkAt(keys, chunk));
  }
  let recreated = 0;
  const zeros = new Uint32Array(CHUNK_WORDS);
  return {
    source: (chunk) => {
      const kept = store.get(chunk);
      if (kept) return kept;
      if (missing === "fake") return zeros;
      recreated += CHUNK_WORDS;
      return chunkAt(keys, chunk);
    },
    recreatedWords: () => recreated,
  };
}

async function run(seed: string, source?: (keys: ReturnType<typeof walkKeys>) => ChunkSource) {
  const keys = walkKeys(matrixKeys(seed), matrixKeys(seedOf(99)));
  const checkpoints = walkCheckpoints(keys, SIZE, source ? source(keys) : (chunk) => chunkAt(keys, chunk));
  const prover = await commitWalk(keys, SIZE, checkpoints);
  const plan = planWalkChecks(SIZE, WALK_CHECKS, seededRandom(7));
  return { keys, prover, plan };
}

describe("the memory phase's working set", () => {
  it("is incompressible: a MiB of it deflates to no less than its size", () => {
    const keys = walkKeys(matrixKeys(seedOf(3)), matrixKeys(seedOf(9)));
    const words = new Uint32Array(256 * 1024);
    for (let i = 0; i < words.length; i++) words[i] = workingSetWord(keys, i);
    const compressed = deflateSync(new Uint8Array(words.buffer), { level: 9 });
    expect(compressed.length / words.byteLength).toBeGreaterThan(0.999);
  });

  it("depends on the seed and on all of a word's index (no 32-bit wrap)", () => {
    const keys = walkKeys(matrixKeys(seedOf(3)), matrixKeys(seedOf(9)));
    const other = walkKeys(matrixKeys(seedOf(4)), matrixKeys(seedOf(9)));
    // The walk seed moves the lanes, never the working set.
    const rewalked = walkKeys(matrixKeys(seedOf(3)), matrixKeys(seedOf(10)));
    expect(workingSetWord(rewalked, 5)).toBe(workingSetWord(keys, 5));
    expect(laneStart(rewalked, 5)).not.toBe(laneStart(keys, 5));
    expect(workingSetWord(keys, 5)).not.toBe(workingSetWord(other, 5));
    expect(workingSetWord(keys, 5)).not.toBe(workingSetWord(keys, 5 + 2 ** 32));
    expect(workingSetWord(keys, 2 ** 36 + 1)).toBe(workingSetWord(keys, 2 ** 36 + 1));
  });
});

describe("the walk", () => {
  it("of an honest prover passes every replayed segment", async () => {
    const { keys, prover, plan } = await run(seedOf(1));
    expect(plan.groups).toHaveLength(WALK_CHECKS);
    const check = await checkWalkOpenings(keys, SIZE, prover.root, plan, wire(prover, plan.groups));
    expect(check.failures).toEqual([]);
    expect(check.replayedSteps).toBe(WALK_CHECKS * SIZE.segmentSteps);
  });

  it("of a prover short of memory that fakes the reads it cannot make fails, every seed", async () => {
    for (let s = 10; s < 16; s++) {
      const { keys, prover, plan } = await run(seedOf(s), (k) => shortOfMemory(k, 0.6, "fake").source);
      const check = await checkWalkOpenings(keys, SIZE, prover.root, plan, wire(prover, plan.groups));
      expect(check.failures.map((f) => f.code)).toContain("walk_replay_mismatch");
      // A segment reads 16 chunks; with 40% missing, all but a (0.6^16) sliver are broken.
      expect(check.failures.length).toBeGreaterThanOrEqual(WALK_CHECKS - 1);
    }
  });

  it("of a prover short of memory passes only by recreating what it lacks, word by word", async () => {
    let liar: ReturnType<typeof shortOfMemory> | undefined;
    const { keys, prover, plan } = await run(seedOf(2), (k) => {
      liar = shortOfMemory(k, 0.6, "recreate");
      return liar.source;
    });
    const check = await checkWalkOpenings(keys, SIZE, prover.root, plan, wire(prover, plan.groups));
    expect(check.failures).toEqual([]);
    // It recreated ~40% of every word the walk read: what device-model.ts charges it, 160 integer
    // operations a word, against one 4-byte read for a part that holds it.
    const read = SIZE.lanes * SIZE.segments * SIZE.segmentSteps * CHUNK_WORDS;
    expect(liar?.recreatedWords()).toBeGreaterThan(0.35 * read);
    expect(liar?.recreatedWords()).toBeLessThan(0.45 * read);
  });

  it("refuses openings that are not the committed walk", async () => {
    const { keys, prover, plan } = await run(seedOf(5));
    const openings = wire(prover, plan.groups);
    const [first, second, ...rest] = openings;
    if (!first || !second) throw new Error("two openings expected");
    const tampered = { ...first, checkpoints: toBase64(new Uint8Array(4 * SIZE.groupLanes * SIZE.segments)) };
    const swapped = { ...second, page: toBase64(new Uint8Array(4 * SIZE.pageGroups)) };
    const check = await checkWalkOpenings(keys, SIZE, prover.root, plan, [
      tampered,
      swapped,
      ...rest.slice(1),
    ]);
    expect(check.failures.map((f) => f.code)).toEqual([
      "walk_digest_mismatch",
      "walk_digest_mismatch",
      "missing_walk_opening",
    ]);
    const wrongRoot = await checkWalkOpenings(keys, SIZE, "0".repeat(64), plan, openings);
    expect(wrongRoot.failures.every((f) => f.code === "walk_proof_mismatch")).toBe(true);
    const short = { ...first, checkpoints: toBase64(new Uint8Array(8)) };
    const malformed = await checkWalkOpenings(keys, SIZE, prover.root, plan, [short, ...openings.slice(1)]);
    expect(malformed.failures.map((f) => f.code)).toEqual(["malformed_walk_opening"]);
  });
});
