import { generateKeyPairSync } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { getBase58Decoder } from "@solana/kit";

/** A 64-byte ed25519 keypair as Solana tools keep it: the 32-byte seed, then the public key. */
export function newKeypairBytes(): Uint8Array {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const seed = Buffer.from(privateKey.export({ format: "jwk" }).d ?? "", "base64url");
  const pub = Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url");
  if (seed.length !== 32 || pub.length !== 32)
    throw new Error("ed25519 key generation gave an unexpected size");
  return new Uint8Array([...seed, ...pub]);
}

export function addressOfKeypair(bytes: Uint8Array): string {
  return getBase58Decoder().decode(bytes.subarray(32, 64));
}

/** Reads a Solana CLI keypair file (a JSON array of 64 numbers). */
export function readKeypairFile(file: string): Uint8Array {
  const parsed: unknown = JSON.parse(readFileSync(file, "utf8"));
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 64 ||
    !parsed.every((n) => Number.isInteger(n) && n >= 0 && n < 256)
  ) {
    throw new Error(`${file} is not a Solana keypair file (a JSON array of 64 bytes)`);
  }
  return new Uint8Array(parsed as number[]);
}

/** Writes a keypair file readable only by its owner, unless one is already there. */
export function writeKeypairFile(file: string, bytes: Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  if (existsSync(file)) return;
  writeFileSync(file, JSON.stringify([...bytes]), { mode: 0o600 });
  chmodSync(file, 0o600);
}
