import { fromHex, toHex } from "./bytes.js";

/**
 * The commitment: a Merkle root over the digests of C's rows (leaf index = block · n + row), with
 * RFC 6962's domain separation (0x00 before a leaf, 0x01 before an inner node) so a leaf can never
 * pass for an inner node. The leaf count is a power of two (n and the block count both are), so
 * the tree is perfect and a proof is exactly log2(leaves) sibling hashes, bottom first.
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

/** Every level of the tree, leaves first, root last (a one-element level). */
export async function merkleLevels(leaves: readonly Uint8Array[]): Promise<Uint8Array[][]> {
  if (leaves.length === 0 || (leaves.length & (leaves.length - 1)) !== 0) {
    throw new RangeError("a Merkle tree here has a power-of-two number of leaves");
  }
  const levels: Uint8Array[][] = [[...leaves]];
  let level: Uint8Array[] = [...leaves];
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
