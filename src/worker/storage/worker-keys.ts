import { MeridianError } from "../../shared/errors.js";
import { secretBytes } from "../../shared/secret-bytes.js";

/** The key-encryption key's version stored with every secret; bump it when SECRETS_KEY is rotated. */
export const KEY_VERSION = 1;

const encoder = new TextEncoder();
const cache = new WeakMap<object, Map<string, Promise<CryptoKey>>>();

function rootKeyBytes(env: Env): Uint8Array {
  const bytes = secretBytes((env as { SECRETS_KEY?: unknown }).SECRETS_KEY);
  if (bytes === undefined || bytes.length < 32) {
    throw new MeridianError(
      503,
      "storage_not_configured",
      "the control plane has no SECRETS_KEY (32+ random bytes, hex or base64): wrangler secret put SECRETS_KEY",
    );
  }
  return bytes;
}

/**
 * A key derived (HKDF-SHA256) from the one Worker secret, one per purpose, so the key that seals
 * secrets never signs a URL and the reverse.
 */
type DerivedAlgorithm = { name: "AES-GCM"; length: 256 } | { name: "HMAC"; hash: "SHA-256"; length?: number };

function derived(env: Env, purpose: string, algorithm: DerivedAlgorithm): Promise<CryptoKey> {
  let perEnv = cache.get(env);
  if (!perEnv) {
    perEnv = new Map();
    cache.set(env, perEnv);
  }
  const known = perEnv.get(purpose);
  if (known) return known;
  const made = (async () => {
    const root = await crypto.subtle.importKey("raw", rootKeyBytes(env), "HKDF", false, ["deriveKey"]);
    return crypto.subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: encoder.encode("meridian"), info: encoder.encode(purpose) },
      root,
      algorithm,
      false,
      algorithm.name === "HMAC" ? ["sign", "verify"] : ["encrypt", "decrypt"],
    );
  })();
  // A missing secret must fail every time, not be cached as a rejected promise.
  made.catch(() => perEnv?.delete(purpose));
  perEnv.set(purpose, made);
  return made;
}

export function keyEncryptionKey(env: Env): Promise<CryptoKey> {
  return derived(env, `secrets/kek/v${KEY_VERSION}`, { name: "AES-GCM", length: 256 });
}

export function urlSigningKey(env: Env): Promise<CryptoKey> {
  return derived(env, "storage/url-signing/v1", { name: "HMAC", hash: "SHA-256", length: 256 });
}

export function toBase64(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
