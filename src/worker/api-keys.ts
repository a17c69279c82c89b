import { sha256Hex } from "../shared/agent-signature.js";
import { encodeBase58 } from "../shared/base58.js";

/**
 * API keys look like `mrd_<key id>_<secret>`. The id part finds the row; only a SHA-256 of the
 * secret is stored, and it is compared in constant time.
 */
const KEY_PATTERN = /^mrd_([0-9a-hjkmnp-tv-z]{26})_([1-9A-HJ-NP-Za-km-z]{32,64})$/;

export interface IssuedKey {
  keyId: string;
  apiKey: string;
  secretHash: string;
}

export async function issueApiKey(keyId: string): Promise<IssuedKey> {
  const secret = encodeBase58(crypto.getRandomValues(new Uint8Array(32)));
  const idPart = keyId.slice("key_".length);
  return { keyId, apiKey: `mrd_${idPart}_${secret}`, secretHash: await sha256Hex(secret) };
}

export function parseApiKey(apiKey: string): { keyId: string; secret: string } | undefined {
  const match = KEY_PATTERN.exec(apiKey);
  if (!match?.[1] || !match[2]) return undefined;
  return { keyId: `key_${match[1]}`, secret: match[2] };
}

export async function secretMatches(secret: string, storedHash: string): Promise<boolean> {
  const given = new TextEncoder().encode(await sha256Hex(secret));
  const stored = new TextEncoder().encode(storedHash);
  if (given.byteLength !== stored.byteLength) return false;
  return crypto.subtle.timingSafeEqual(given, stored);
}
