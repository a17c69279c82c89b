import { sha256Hex } from "../shared/agent-signature.js";
import type { AuthenticatedKey } from "./require-account.js";

/**
 * A short-lived, in-isolate memory of API keys that were verified against D1, so that a burst of
 * requests with one key reads its row once, not once per request. Keyed by the SHA-256 of the
 * whole presented token (never the token itself), so only a request that presents exactly the
 * secret that was verified can hit an entry; failures are never remembered.
 *
 * Revocation: the revoke route forgets the key here at once, so in the isolate that served the
 * revocation (and in `wrangler dev`, which runs one) a revoked key fails on its next request. A
 * deployed Worker runs many isolates: one that verified the key less than `TTL_MS` ago keeps
 * accepting it until its entry expires, so a revocation takes effect everywhere within `TTL_MS`.
 */
export const VERIFIED_KEY_TTL_MS = 3_000;
const MAX_ENTRIES = 1_000;

interface Entry {
  key: AuthenticatedKey;
  until: number;
}

const verified = new Map<string, Entry>();
/**
 * Keys revoked in this isolate: a lookup that read the row just before the revocation must not
 * remember it just after. A revoked key never comes back, so forgetting these early is only a
 * matter of memory.
 */
const revoked = new Set<string>();

/** The hash under which a presented token is remembered. */
export function tokenHash(token: string): Promise<string> {
  return sha256Hex(token);
}

export function recalledKey(hash: string, now: number = Date.now()): AuthenticatedKey | undefined {
  const entry = verified.get(hash);
  if (entry === undefined) return undefined;
  if (entry.until <= now) {
    verified.delete(hash);
    return undefined;
  }
  return entry.key;
}

/**
 * Remembers a verified key for `VERIFIED_KEY_TTL_MS`, never past `expiresAt` (a session key's end),
 * so an expired session key is refused on its first request after the end even in this isolate.
 */
export function rememberKey(
  hash: string,
  key: AuthenticatedKey,
  now: number = Date.now(),
  expiresAt: number | null = null,
): void {
  if (revoked.has(key.keyId)) return;
  if (verified.size >= MAX_ENTRIES) {
    for (const [stored, entry] of verified) if (entry.until <= now) verified.delete(stored);
    // Still full of live entries: drop the oldest (a Map iterates in insertion order).
    const oldest = verified.keys().next();
    if (verified.size >= MAX_ENTRIES && oldest.done !== true) verified.delete(oldest.value);
  }
  const until = Math.min(now + VERIFIED_KEY_TTL_MS, expiresAt ?? Number.POSITIVE_INFINITY);
  if (until <= now) return;
  verified.set(hash, { key, until });
}

/** Forgets every remembered token of the key (its revocation). */
export function forgetKey(keyId: string): void {
  if (revoked.size >= MAX_ENTRIES) revoked.clear();
  revoked.add(keyId);
  for (const [hash, entry] of verified) if (entry.key.keyId === keyId) verified.delete(hash);
}
