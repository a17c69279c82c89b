import { hash32, type MatrixKeys, streamConstant } from "./seeded-matrix.js";

/**
 * The per-row digest the agent computes on the GPU, so that only one 32-bit word per row (not the
 * row's bytes) reaches the host's SHA-256: d_i = Σ_j hash32(bits_ij XOR K_j) mod 2^32, where bits
 * is the canonical 16-bit value of C_ij (canonical-value.ts) and K_j a per-challenge key. hash32
 * is nonlinear, so the digest cannot be had as A·(B·K) without forming C; the sum wraps, and every
 * intermediate stays below 2^63, so PyTorch and numpy int64 math reproduce it exactly
 * (gpu-bench.py).
 */

/** The stream the digest keys come from: past every B block (1 + block < this). */
export const DIGEST_STREAM = 0xffffffff;

/** K_j for j < n, from the seed's keys like a matrix stream (the same counter-based generator). */
export function digestKeys(keys: MatrixKeys, n: number): Uint32Array {
  const c = streamConstant(keys, DIGEST_STREAM);
  const out = new Uint32Array(n);
  for (let j = 0; j < n; j++) out[j] = hash32((hash32((j ^ keys.k0) >>> 0) ^ c) >>> 0);
  return out;
}

/** The digest of one canonical row (2n bytes, little-endian 16-bit values). */
export function rowDigest(row: Uint8Array, key: Uint32Array): number {
  let sum = 0;
  for (let j = 0; j < key.length; j++) {
    const bits = (row[2 * j] ?? 0) | ((row[2 * j + 1] ?? 0) << 8);
    sum = (sum + hash32((bits ^ (key[j] ?? 0)) >>> 0)) >>> 0;
  }
  return sum;
}

/** A block's digest vector as the bytes its Merkle leaf hashes: n little-endian uint32. */
export function digestVectorBytes(digests: Uint32Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(digests.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < digests.length; i++) view.setUint32(4 * i, digests[i] ?? 0, true);
  return out;
}

/** Entry `row` of a digest vector's bytes. */
export function digestAt(vector: Uint8Array, row: number): number {
  return new DataView(vector.buffer, vector.byteOffset, vector.byteLength).getUint32(4 * row, true);
}
