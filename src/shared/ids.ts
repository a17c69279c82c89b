/** Every id is a type prefix and a sortable random part: 10 characters of time, 16 of randomness. */
export type IdPrefix =
  | "acct"
  | "key"
  | "node"
  | "job"
  | "att"
  | "ep"
  | "tx"
  | "aud"
  | "pay"
  | "pbt"
  | "dsp"
  | "rbt"
  | "brn"
  | "stk"
  | "nrg";

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"; // Crockford base32, lower case

function encodeTime(ms: number): string {
  let out = "";
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET.charAt(rest % 32) + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function randomPart(length: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const byte of bytes) out += ALPHABET.charAt(byte % 32);
  return out;
}

export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  return `${prefix}_${encodeTime(now)}${randomPart(16)}`;
}

export function idPattern(prefix: IdPrefix): RegExp {
  return new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`);
}

/**
 * A node's id follows from its public key, so the same key is the same node wherever and however
 * often it registers.
 */
export async function nodeIdForPublicKey(publicKey: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(publicKey)));
  let out = "";
  for (let i = 0; i < 26; i++) out += ALPHABET.charAt((digest[i] ?? 0) % 32);
  return `node_${out}`;
}
