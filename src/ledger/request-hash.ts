import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return Object.fromEntries(entries.map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

/**
 * SHA-256 of a request's meaningful fields, key order ignored. Synchronous (not WebCrypto) because
 * settlement statements are built inside the Region object's synchronous outbox flush.
 */
export function requestHash(value: unknown): string {
  return bytesToHex(sha256(utf8ToBytes(JSON.stringify(canonical(value)))));
}
