import { describe, expect, it } from "vitest";
import { fromBase64, toBase64, toHex } from "../../src/shared/verification/bytes.js";
import {
  dtypeBitsToNumber,
  encodeRow,
  entryOfRow,
  integerToDtypeBits,
  ulpAt,
} from "../../src/shared/verification/canonical-value.js";
import {
  leafDigest,
  merkleDepth,
  merkleLevels,
  merkleProof,
  rootOf,
  verifyMerkleProof,
} from "../../src/shared/verification/merkle.js";
import {
  digestAt,
  digestKeys,
  digestVectorBytes,
  rowDigest,
} from "../../src/shared/verification/row-digest.js";
import {
  columnOfB,
  ENTRIES_FIT_INT8,
  exactEntry,
  fullMatrix,
  hash32,
  matrixKeys,
  rowOfA,
} from "../../src/shared/verification/seeded-matrix.js";

const SEED = "00112233445566778899aabbccddeeff0123456789abcdef0fedcba987654321";

/** float32 → bf16 by round-half-even on the bits: the reference the integer rounding must match. */
function bf16BitsViaFloat32(value: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  const u = view.getUint32(0);
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

describe("seeded matrices", () => {
  it("hash32 matches Math.imul arithmetic and is a fixed function", () => {
    expect(hash32(0)).toBe(0);
    expect(hash32(1)).toBe(hash32(1));
    const values = new Set(Array.from({ length: 1000 }, (_, i) => hash32(i)));
    expect(values.size).toBe(1000); // a bijection on 32 bits
    // The int64 formulation the Python script uses gives the same value (products < 2^63).
    const viaBigInt = (x: number): number => {
      let h = BigInt(x);
      const mask = 0xffffffffn;
      h ^= h >> 16n;
      h = (h * 0x21f0aaadn) & mask;
      h ^= h >> 15n;
      h = (h * 0x735a2d97n) & mask;
      h ^= h >> 15n;
      return Number(h);
    };
    for (const x of [1, 2, 12345, 0xffffffff, 0x80000000, 0xdeadbeef]) expect(hash32(x)).toBe(viaBigInt(x));
  });

  it("bf16 entries are 9-bit integers in [-256, 256] (too wide for int8), spread evenly, and depend on the seed", () => {
    const keys = matrixKeys(SEED);
    const a = fullMatrix(keys, 128, 0);
    const counts = new Map<number, number>();
    for (const v of a) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect(Math.min(...counts.keys())).toBe(-256);
    expect(Math.max(...counts.keys())).toBe(256);
    expect(counts.size).toBeGreaterThan(500);
    // A quarter of them lie outside int8's [-128, 127]: no int8 fast path holds the matrix.
    const outsideInt8 = [...a].filter((v) => v < -128 || v > 127).length;
    expect(outsideInt8 / a.length).toBeGreaterThan(0.22);
    expect(ENTRIES_FIT_INT8).toBe(false);
    const fp16 = new Set(fullMatrix(matrixKeys(SEED, "fp16"), 64, 0));
    expect([...fp16].sort()).toEqual([-1, -2, 0, 1, 2].sort());
    const other = fullMatrix(matrixKeys(`1${SEED.slice(1)}`), 64, 0);
    expect(other).not.toEqual(a);
    expect(fullMatrix(keys, 64, 1)).not.toEqual(a);
  });

  it("rows, columns and exact entries agree with the full matrices", () => {
    const keys = matrixKeys(SEED);
    const n = 32;
    const a = fullMatrix(keys, n, 0);
    const b1 = fullMatrix(keys, n, 2);
    expect(rowOfA(keys, n, 5)).toEqual(a.slice(5 * n, 6 * n));
    expect(columnOfB(keys, n, 1, 7)).toEqual(Int16Array.from({ length: n }, (_, l) => b1[l * n + 7] ?? 0));
    let sum = 0;
    for (let l = 0; l < n; l++) sum += (a[5 * n + l] ?? 0) * (b1[l * n + 7] ?? 0);
    expect(exactEntry(keys, n, rowOfA(keys, n, 5), 1, 7)).toBe(sum);
  });

  it("refuses a malformed seed", () => {
    expect(() => matrixKeys("abc")).toThrow(RangeError);
  });
});

describe("canonical values", () => {
  it("rounds integers to bf16 exactly as float32 → bf16 round-half-even does", () => {
    for (const v of [
      0, 1, -1, 255, 256, 257, 258, 259, 383, 384, 385, 1000, -1001, 65_535, 65_536, 16_777_215,
    ]) {
      expect(integerToDtypeBits(v, "bf16")).toBe(bf16BitsViaFloat32(v));
    }
  });

  it("rounds integers to fp16 round-half-even, overflowing to infinity past 65504", () => {
    expect(dtypeBitsToNumber(integerToDtypeBits(2049, "fp16"), "fp16")).toBe(2048);
    expect(dtypeBitsToNumber(integerToDtypeBits(2051, "fp16"), "fp16")).toBe(2052);
    expect(dtypeBitsToNumber(integerToDtypeBits(65_504, "fp16"), "fp16")).toBe(65_504);
    expect(dtypeBitsToNumber(integerToDtypeBits(65_520, "fp16"), "fp16")).toBe(Number.POSITIVE_INFINITY);
    expect(dtypeBitsToNumber(integerToDtypeBits(-300, "fp16"), "fp16")).toBe(-300);
    for (let v = -3000; v <= 3000; v += 7) {
      const back = dtypeBitsToNumber(integerToDtypeBits(v, "bf16"), "bf16");
      expect(Math.abs(back - v)).toBeLessThanOrEqual(ulpAt(v, "bf16") / 2);
    }
  });

  it("encodes rows as little-endian 16-bit values that read back", () => {
    const row = encodeRow([3, -7, 300, 0], "bf16");
    expect(row.length).toBe(8);
    expect(entryOfRow(row, 1, "bf16")).toBe(-7);
    expect(entryOfRow(row, 2, "bf16")).toBe(300);
    const decoded = fromBase64(toBase64(row));
    expect(decoded).toEqual(row);
    expect(fromBase64("not base64!")).toBeUndefined();
  });
});

describe("Merkle commitment", () => {
  it("proves every leaf and refuses a changed leaf, index or root", async () => {
    const leaves = await Promise.all(
      Array.from({ length: 16 }, (_, i) => leafDigest(encodeRow([i, i + 1], "bf16"))),
    );
    const levels = await merkleLevels(leaves);
    const root = rootOf(levels);
    for (let i = 0; i < 16; i++) {
      const leaf = leaves[i] ?? new Uint8Array();
      expect(await verifyMerkleProof(root, leaf, i, merkleProof(levels, i))).toBe(true);
    }
    const proof = merkleProof(levels, 3);
    const leaf3 = leaves[3] ?? new Uint8Array();
    expect(await verifyMerkleProof(root, leaves[4] ?? new Uint8Array(), 3, proof)).toBe(false);
    expect(await verifyMerkleProof(root, leaf3, 2, proof)).toBe(false);
    expect(await verifyMerkleProof(root, leaf3, 3 + 16, proof)).toBe(false);
    expect(await verifyMerkleProof("0".repeat(64), leaf3, 3, proof)).toBe(false);
  });

  it("pads any leaf count to a power of two with the empty vector's digest, and refuses none", async () => {
    const leaves = await Promise.all(Array.from({ length: 5 }, (_, i) => leafDigest(new Uint8Array([i]))));
    const levels = await merkleLevels(leaves);
    expect(merkleDepth(5)).toBe(3);
    expect(merkleDepth(1)).toBe(0);
    expect(levels[0]?.length).toBe(8);
    expect(levels[0]?.[7]).toEqual(await leafDigest(new Uint8Array(0)));
    const root = rootOf(levels);
    for (let i = 0; i < 5; i++) {
      expect(await verifyMerkleProof(root, leaves[i] ?? new Uint8Array(), i, merkleProof(levels, i))).toBe(
        true,
      );
    }
    expect(rootOf(await merkleLevels([leaves[0] ?? new Uint8Array()]))).toBe(
      toHex(leaves[0] ?? new Uint8Array()),
    );
    await expect(merkleLevels([])).rejects.toThrow(RangeError);
  });
});

describe("row digests", () => {
  const keys = matrixKeys(SEED);
  const key = digestKeys(keys, 64);

  it("binds every entry of the row, is nonlinear, and depends on the seed", () => {
    const row = encodeRow(
      Array.from({ length: 64 }, (_, j) => ((j * 37) % 200) - 100),
      "bf16",
    );
    const digest = rowDigest(row, key);
    for (const j of [0, 17, 63]) {
      const changed = new Uint8Array(row);
      changed[2 * j] = (changed[2 * j] ?? 0) ^ 1;
      expect(rowDigest(changed, key)).not.toBe(digest);
    }
    // Not additive over rows: d(x + y) ≠ d(x) + d(y) in general, so A·(B·K) cannot stand in for C.
    const x = encodeRow(
      Array.from({ length: 64 }, () => 1),
      "bf16",
    );
    const y = encodeRow(
      Array.from({ length: 64 }, () => 2),
      "bf16",
    );
    const sum = encodeRow(
      Array.from({ length: 64 }, () => 3),
      "bf16",
    );
    expect(rowDigest(sum, key)).not.toBe((rowDigest(x, key) + rowDigest(y, key)) >>> 0);
    const otherSeed = `${"0".repeat(56)}00000001`;
    expect(rowDigest(row, digestKeys(matrixKeys(otherSeed), 64))).not.toBe(digest);
  });

  it("is a wrapping uint32 sum, written little-endian in the block's vector", () => {
    const row = encodeRow(
      Array.from({ length: 64 }, (_, j) => j),
      "fp16",
    );
    let expected = 0n;
    for (let j = 0; j < 64; j++) {
      const bits = (row[2 * j] ?? 0) | ((row[2 * j + 1] ?? 0) << 8);
      expected += BigInt(hash32((bits ^ (key[j] ?? 0)) >>> 0));
    }
    const digest = rowDigest(row, key);
    expect(digest).toBe(Number(expected % 2n ** 32n));
    const vector = digestVectorBytes(Uint32Array.from([1, digest, 0xffffffff]));
    expect(vector.length).toBe(12);
    expect(digestAt(vector, 1)).toBe(digest);
    expect(digestAt(vector, 2)).toBe(0xffffffff);
  });
});
