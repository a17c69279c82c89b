import * as ed from "@noble/ed25519";
import { encodeBase58 } from "../../shared/base58.js";
import { MeridianError } from "../../shared/errors.js";
import type { RegionKeyPair } from "../../shared/receipts/region-countersignature.js";
import { secretBytes } from "../../shared/secret-bytes.js";

/**
 * Each region's Ed25519 signing key, derived (HKDF-SHA256, the region id as its info) from the one
 * `REGION_SIGNING_SEED` Worker secret: every shard of a region, and the Worker publishing the
 * region's key, derive the same key with nothing stored, and a region's key names no other's.
 */

const encoder = new TextEncoder();
const cache = new Map<string, Promise<RegionKeyPair>>();

/** The secret's bytes (32+ of them, hex or base64); undefined when it is not set. */
function seedBytes(env: object): Uint8Array | undefined {
  const raw = (env as { REGION_SIGNING_SEED?: unknown }).REGION_SIGNING_SEED;
  if (typeof raw !== "string" || raw.trim() === "") return undefined;
  const bytes = secretBytes(raw);
  if (bytes === undefined || bytes.length < 32) {
    throw new MeridianError(
      503,
      "region_signing_misconfigured",
      "REGION_SIGNING_SEED must be 32+ random bytes, hex or base64: wrangler secret put REGION_SIGNING_SEED",
    );
  }
  return bytes;
}

async function derive(secret: Uint8Array, region: string): Promise<RegionKeyPair> {
  const root = await crypto.subtle.importKey("raw", secret, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: encoder.encode("meridian"),
      info: encoder.encode(`region-signing/v1/${region}`),
    },
    root,
    256,
  );
  const seed = new Uint8Array(bits);
  return { seed, publicKey: encodeBase58(await ed.getPublicKeyAsync(seed)) };
}

/**
 * `region`'s signing key, or null where REGION_SIGNING_SEED is not set (receipts then carry no
 * region countersignature). A secret that is set but too short is refused (503), never used.
 */
export function regionSigningKey(env: object, region: string): Promise<RegionKeyPair> | null {
  const secret = seedBytes(env);
  if (!secret) return null;
  const id = `${encodeBase58(secret)}/${region}`;
  const known = cache.get(id);
  if (known) return known;
  const made = derive(secret, region);
  made.catch(() => cache.delete(id));
  cache.set(id, made);
  return made;
}
