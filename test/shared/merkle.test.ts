import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import { describe, expect, it } from "vitest";
import {
  leafHash,
  merkleProof,
  merkleProofs,
  merkleRoot,
  rootFromProof,
} from "../../src/shared/receipts/merkle.js";

const leaves = (n: number) =>
  Array.from({ length: n }, (_, i) => leafHash(new TextEncoder().encode(`receipt ${i}`)));

describe("the receipts' Merkle tree", () => {
  it("proves every leaf of trees of 1 to 33 leaves, in at most ⌈log2 n⌉ steps", () => {
    for (let n = 1; n <= 33; n++) {
      const tree = leaves(n);
      const root = merkleRoot(tree);
      for (let i = 0; i < n; i++) {
        const proof = merkleProof(tree, i);
        expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n)));
        expect(rootFromProof(tree[i] ?? "", proof)).toBe(root);
      }
    }
  });

  it("builds every leaf's proof in one pass, equal to building each alone", () => {
    expect(merkleProofs([])).toEqual([]);
    for (let n = 1; n <= 40; n++) {
      const tree = leaves(n);
      expect(merkleProofs(tree)).toEqual(tree.map((_, i) => merkleProof(tree, i)));
    }
  });

  it("hashes leaves and nodes apart (RFC 6962 prefixes), so a node never passes for a leaf", () => {
    const [a = "", b = ""] = leaves(2);
    const root = merkleRoot([a, b]);
    const node = bytesToHex(sha256(Uint8Array.from([1, ...Buffer.from(a, "hex"), ...Buffer.from(b, "hex")])));
    expect(root).toBe(node);
    expect(merkleRoot([root])).toBe(root);
    expect(leafHash(Buffer.from(a + b, "hex"))).not.toBe(root);
  });

  it("folds a changed leaf or a swapped step to another root", () => {
    const tree = leaves(7);
    const root = merkleRoot(tree);
    const proof = merkleProof(tree, 2);
    expect(rootFromProof(tree[3] ?? "", proof)).not.toBe(root);
    const swapped = proof.map((step) => ("left" in step ? { right: step.left } : { left: step.right }));
    expect(rootFromProof(tree[2] ?? "", swapped)).not.toBe(root);
    expect(() => merkleProof(tree, 7)).toThrow();
    expect(() => merkleRoot([])).toThrow();
  });
});
