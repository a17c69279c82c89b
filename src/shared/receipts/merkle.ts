import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";

/**
 * The Merkle tree receipts are batched into. Leaves and inner nodes are hashed with different
 * prefixes (0x00, 0x01, as in RFC 6962), so no inner node can pass for a leaf. Each level pairs its
 * nodes left to right; an odd last node goes up unchanged. Hashes travel as lowercase hex.
 */

/** One step of a proof: the sibling hash and the side it sits on. */
export type ProofStep = { left: string } | { right: string };

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The leaf hash of a receipt's canonical bytes. */
export function leafHash(body: Uint8Array): string {
  return bytesToHex(sha256(concat(LEAF, body)));
}

function parent(left: string, right: string): string {
  return bytesToHex(sha256(concat(NODE, hexToBytes(left), hexToBytes(right))));
}

function nextLevel(level: readonly string[]): string[] {
  const up: string[] = [];
  for (let i = 0; i < level.length; i += 2) {
    const left = level[i] ?? "";
    const right = level[i + 1];
    up.push(right === undefined ? left : parent(left, right));
  }
  return up;
}

export function merkleRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) throw new Error("a Merkle tree needs at least one leaf");
  let level = [...leaves];
  while (level.length > 1) level = nextLevel(level);
  return level[0] ?? "";
}

/** The path from leaf `index` to the root: a sibling per level where the leaf's node has one. */
export function merkleProof(leaves: readonly string[], index: number): ProofStep[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new Error(`leaf ${index} is not in a tree of ${leaves.length}`);
  }
  const steps: ProofStep[] = [];
  let level = [...leaves];
  let at = index;
  while (level.length > 1) {
    const sibling = at % 2 === 0 ? level[at + 1] : level[at - 1];
    if (sibling !== undefined) steps.push(at % 2 === 0 ? { right: sibling } : { left: sibling });
    level = nextLevel(level);
    at = Math.floor(at / 2);
  }
  return steps;
}

/**
 * Every leaf's proof at once, from one pass over the tree (n log n hashes, where calling
 * `merkleProof` per leaf would rebuild the tree n times): what a batch stores when it is cut.
 */
export function merkleProofs(leaves: readonly string[]): ProofStep[][] {
  if (leaves.length === 0) return [];
  const levels: string[][] = [[...leaves]];
  for (let level = levels[0] ?? []; level.length > 1; ) {
    level = nextLevel(level);
    levels.push(level);
  }
  return leaves.map((_, index) => {
    const steps: ProofStep[] = [];
    let at = index;
    for (const level of levels.slice(0, -1)) {
      const sibling = at % 2 === 0 ? level[at + 1] : level[at - 1];
      if (sibling !== undefined) steps.push(at % 2 === 0 ? { right: sibling } : { left: sibling });
      at = Math.floor(at / 2);
    }
    return steps;
  });
}

/** The root a leaf and its proof fold up to; compare it with the anchored root. */
export function rootFromProof(leaf: string, proof: readonly ProofStep[]): string {
  let hash = leaf;
  for (const step of proof) hash = "left" in step ? parent(step.left, hash) : parent(hash, step.right);
  return hash;
}
