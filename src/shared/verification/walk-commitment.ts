import { chunksOf, groupsOf, type MemoryWalkSize } from "./memory-size.js";
import {
  type ChunkSource,
  checkpointKey,
  chunkAt,
  laneStart,
  runLane,
  type WalkKeys,
} from "./memory-walk.js";
import { leafDigest, merkleLevels, merkleProof, rootOf } from "./merkle.js";
import { hash32 } from "./seeded-matrix.js";

/**
 * What the agent commits to after the walk, computed where the checkpoints are (on the GPU) so
 * the host hashes kilobytes, not the walk: each group of `groupLanes` lanes is one 32-bit digest
 * d_g = Σ hash32(checkpoint ⊕ key) mod 2^32 over its lanes' states after every segment (as the
 * row digests, nonlinear per term); pages of `pageGroups` digests are Merkle leaves (merkle.ts).
 * Opening a group sends its checkpoints, its page and the page's proof; the verifier recomputes
 * d_g, finds it in the page, ties the page to the root, and replays one segment of one lane.
 */

/** Checkpoints lane-major: index lane · segments + segment holds the state after that segment. */
export type Checkpoints = Uint32Array;

/** A whole walk, for the TypeScript engine and the tests (tiny sizes only). */
export function walkCheckpoints(keys: WalkKeys, size: MemoryWalkSize, source: ChunkSource): Checkpoints {
  const out = new Uint32Array(size.lanes * size.segments);
  const chunks = chunksOf(size);
  for (let lane = 0; lane < size.lanes; lane++) {
    let state = laneStart(keys, lane);
    for (let segment = 0; segment < size.segments; segment++) {
      state = runLane(state, segment * size.segmentSteps, size.segmentSteps, chunks, source);
      out[lane * size.segments + segment] = state;
    }
  }
  return out;
}

/** A group's digest, from its lanes' checkpoints (groupLanes · segments words, lane-major). */
export function groupDigest(
  keys: WalkKeys,
  size: MemoryWalkSize,
  group: number,
  own: ArrayLike<number>,
): number {
  const base = group * size.groupLanes * size.segments;
  let sum = 0;
  for (let i = 0; i < own.length; i++) {
    sum = (sum + hash32((((own[i] ?? 0) ^ checkpointKey(keys, base + i)) >>> 0) >>> 0)) >>> 0;
  }
  return sum;
}

/** Every group's digest. */
export function groupDigests(keys: WalkKeys, size: MemoryWalkSize, checkpoints: Checkpoints): Uint32Array {
  const per = size.groupLanes * size.segments;
  const out = new Uint32Array(groupsOf(size));
  for (let g = 0; g < out.length; g++) {
    out[g] = groupDigest(keys, size, g, checkpoints.subarray(g * per, (g + 1) * per));
  }
  return out;
}

/** Page `page` of the digests as bytes (little-endian uint32), the last one possibly short. */
export function digestPage(
  digests: Uint32Array,
  size: MemoryWalkSize,
  page: number,
): Uint8Array<ArrayBuffer> {
  const slice = digests.subarray(page * size.pageGroups, (page + 1) * size.pageGroups);
  const out = new Uint8Array(slice.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < slice.length; i++) view.setUint32(4 * i, slice[i] ?? 0, true);
  return out;
}

export function pagesOf(size: MemoryWalkSize): number {
  return Math.ceil(groupsOf(size) / size.pageGroups);
}

/** The walk's Merkle tree over its digest pages. */
export async function walkTree(digests: Uint32Array, size: MemoryWalkSize): Promise<Uint8Array[][]> {
  const leaves = await Promise.all(
    Array.from({ length: pagesOf(size) }, (_, page) => leafDigest(digestPage(digests, size, page))),
  );
  return merkleLevels(leaves);
}

export interface WalkProver {
  root: string;
  /** The opening of group `group`: its checkpoints, its page and the page's proof. */
  open(group: number): { checkpoints: Uint32Array; page: Uint8Array; proof: string[] };
}

/** Commits to a walk whose checkpoints a prover holds (the TypeScript engine, the tests). */
export async function commitWalk(
  keys: WalkKeys,
  size: MemoryWalkSize,
  checkpoints: Checkpoints,
): Promise<WalkProver> {
  const digests = groupDigests(keys, size, checkpoints);
  const levels = await walkTree(digests, size);
  const per = size.groupLanes * size.segments;
  return {
    root: rootOf(levels),
    open: (group) => {
      const page = Math.floor(group / size.pageGroups);
      return {
        checkpoints: checkpoints.slice(group * per, (group + 1) * per),
        page: digestPage(digests, size, page),
        proof: merkleProof(levels, page),
      };
    },
  };
}

/** The honest source: every chunk regenerated from the seed (what the verifier uses). */
export function seedSource(keys: WalkKeys): ChunkSource {
  return (chunk) => chunkAt(keys, chunk);
}
