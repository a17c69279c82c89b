/**
 * bench:verify, part 5: the verifier's CPU time for the memory phase's checks at production size
 * (memory-size.ts): 8 groups opened, each digest recomputed, each page tied to the root, one
 * segment of 1,024 steps replayed per group from the seed alone. A production walk cannot be run
 * here, so the openings are forged the way bench/verify.ts forges rows: every checked segment is
 * replayed honestly from a random start, every other checkpoint and page is random, and the
 * proofs are real paths to the root. The verifier does all of its usual work.
 */
import { gpuModelById } from "../src/shared/gpu-catalog.js";
import { toBase64, toHex } from "../src/shared/verification/bytes.js";
import { reportedVramMib } from "../src/shared/verification/device-model.js";
import { chunksOf, memoryWalkFor, walkBytesOf } from "../src/shared/verification/memory-size.js";
import { laneStart, runLane, walkKeys } from "../src/shared/verification/memory-walk.js";
import { leafDigest, merkleLevels, merkleProof, rootOf } from "../src/shared/verification/merkle.js";
import { cryptoRandomBytes } from "../src/shared/verification/random-source.js";
import { matrixKeys } from "../src/shared/verification/seeded-matrix.js";
import { checkWalkOpenings, planWalkChecks, WALK_CHECKS } from "../src/shared/verification/walk-check.js";
import { groupDigest, pagesOf, seedSource } from "../src/shared/verification/walk-commitment.js";

function le(words: Uint32Array): Uint8Array {
  return new Uint8Array(words.buffer.slice(0));
}

export async function walkVerifierCost(id: string, iterations = 12): Promise<void> {
  const model = gpuModelById(id);
  if (!model) throw new Error(`no ${id}`);
  const size = memoryWalkFor(model, reportedVramMib(model));
  const times: number[] = [];
  let failures = 0;
  for (let i = 0; i < iterations + 2; i++) {
    const keys = walkKeys(matrixKeys(toHex(cryptoRandomBytes(32))), matrixKeys(toHex(cryptoRandomBytes(32))));
    const plan = planWalkChecks(size, WALK_CHECKS, cryptoRandomBytes);
    const per = size.groupLanes * size.segments;
    const pages = Array.from(
      { length: pagesOf(size) },
      () => new Uint32Array(cryptoRandomBytes(4 * size.pageGroups).buffer),
    );
    const opened = new Map<number, Uint32Array>();
    for (const [index, group] of plan.groups.entries()) {
      const check = plan.checks[index];
      if (!check) continue;
      const checkpoints = new Uint32Array(cryptoRandomBytes(4 * per).buffer);
      const lane = group * size.groupLanes + check.lane;
      const at = check.lane * size.segments + check.segment;
      const from = check.segment === 0 ? laneStart(keys, lane) : (checkpoints[at - 1] ?? 0);
      checkpoints[at] = runLane(
        from,
        check.segment * size.segmentSteps,
        size.segmentSteps,
        chunksOf(size),
        seedSource(keys),
      );
      opened.set(group, checkpoints);
      const page = pages[Math.floor(group / size.pageGroups)];
      if (page) page[group % size.pageGroups] = groupDigest(keys, size, group, checkpoints);
    }
    const levels = await merkleLevels(await Promise.all(pages.map((page) => leafDigest(le(page)))));
    const openings = plan.groups.map((group) => ({
      group,
      checkpoints: toBase64(le(opened.get(group) ?? new Uint32Array(per))),
      page: toBase64(le(pages[Math.floor(group / size.pageGroups)] ?? new Uint32Array(0))),
      proof: merkleProof(levels, Math.floor(group / size.pageGroups)),
    }));
    const started = performance.now();
    const check = await checkWalkOpenings(keys, size, rootOf(levels), plan, openings);
    if (i >= 2) times.push(performance.now() - started);
    failures += check.failures.length;
  }
  times.sort((a, b) => a - b);
  const at = (q: number): string =>
    (times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(1);
  console.log(
    `| ${id} | ${((size.words * 4) / 2 ** 30).toFixed(1)} GiB, ${size.lanes} lanes × ${size.segments} × ${size.segmentSteps} steps, ${(walkBytesOf(size) / 1e12).toFixed(1)} TB read | ${at(0.5)} ms | ${at(0.99)} ms | ${times.length} | ${failures === 0 ? "all accepted" : `${failures} FAILURES`} |`,
  );
}
