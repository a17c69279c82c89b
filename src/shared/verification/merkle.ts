import { fromHex, toHex } from "./bytes.js";

/**
 * The commitment: a Merkle root over C's blocks, leaf b = SHA-256(0x00 ‖ block b's row-digest
 * vector) (row-digest.ts), with RFC 6962's domain separation (0x00 before a leaf, 0x01 before an
 * inner node) so a leaf can never pass for an inner node. The block count is any number, so the
 * leaves are padded to a power of two with the digest of an empty vector (no real block has one);
 * the tree is then perfect and a proof is exactly ceil(log2(blocks)) sibling hashes, bottom first.
 */

async function sha256(parts: readonly Uint8Array[]): Promise<Uint8Array<ArrayBuffer>> {
  let length = 0;
  for (const part of parts) length += part.length;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", joined));
}

const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);

export function leafDigest(rowBytes: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return sha256([LEAF, rowBytes]);
}

export function nodeDigest(left: Uint8Array, right: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  return sha256([NODE, left, right]);
}

/** Proof length for `leafCount` leaves once padded. */
export function merkleDepth(leafCount: number): number {
  return Math.ceil(Math.log2(Math.max(1, leafCount)));
}

/** Every level of the tree, leaves (padded) first, root last (a one-element level). */
export async function merkleLevels(leaves: readonly Uint8Array[]): Promise<Uint8Array[][]> {
  if (leaves.length === 0) throw new RangeError("a Merkle tree needs a leaf");
  const padded = [...leaves];
  if (padded.length < 2 ** merkleDepth(leaves.length)) {
    const pad = await leafDigest(new Uint8Array(0));
    while (padded.length < 2 ** merkleDepth(leaves.length)) padded.push(pad);
  }
  const levels: Uint8Array[][] = [padded];
  let level: Uint8Array[] = padded;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i];
      const right = level[i + 1];
      if (left === undefined || right === undefined) throw new RangeError("unbalanced level");
      next.push(await nodeDigest(left, right));
    }
    levels.push(next);
    level = next;
  }
  return levels;
}

export function rootOf(levels: readonly Uint8Array[][]): string {
  const top = levels[levels.length - 1]?.[0];
  if (top === undefined) throw new RangeError("empty tree");
  return toHex(top);
}

/** The sibling hashes from leaf `index` up to the root, hex, bottom first. */
export function merkleProof(levels: readonly Uint8Array[][], index: number): string[] {
  const proof: string[] = [];
  let position = index;
  for (let depth = 0; depth < levels.length - 1; depth++) {
    const sibling = levels[depth]?.[position ^ 1];
    if (sibling === undefined) throw new RangeError(`no leaf ${index}`);
    proof.push(toHex(sibling));
    position >>>= 1;
  }
  return proof;
}

/** Whether `leaf` sits at `index` under `rootHex`, given its proof. */
export async function verifyMerkleProof(
  rootHex: string,
  leaf: Uint8Array,
  index: number,
  proof: readonly string[],
): Promise<boolean> {
  let digest = leaf;
  let position = index;
  for (const siblingHex of proof) {
    const sibling = fromHex(siblingHex);
    digest = (position & 1) === 0 ? await nodeDigest(digest, sibling) : await nodeDigest(sibling, digest);
    position >>>= 1;
  }
  return position === 0 && toHex(digest) === rootHex;
}
