import { chmod, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as ed from "@noble/ed25519";
import { encodeBase58 } from "../shared/base58.js";

/** The node's ed25519 key: its signature on every request, and its Solana address. */
export interface AgentIdentity {
  /** The 32-byte secret seed, as signParts takes it. */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
  /** Base58 public key: the x-meridian-public-key header and the node's payout address. */
  readonly publicKeyBase58: string;
  readonly path: string;
}

export const IDENTITY_FILE = "identity.json";

export class IdentityError extends Error {
  readonly code = "identity_invalid";
  constructor(message: string) {
    super(message);
    this.name = "IdentityError";
  }
}

/**
 * Loads the node's keypair from `<dataDir>/identity.json`, creating it on first start. The file is a
 * Solana CLI keypair (a JSON array of 64 bytes: secret seed, then public key), so `solana address -k`
 * reads it and the provider can receive payouts with the same key.
 */
export async function loadOrCreateIdentity(dataDir: string): Promise<AgentIdentity> {
  const path = join(dataDir, IDENTITY_FILE);
  const info = await stat(path).catch((error: unknown) => {
    if (isNotFound(error)) return undefined;
    throw error;
  });
  if (info === undefined) return createIdentity(dataDir, path);

  // A key others can read is a key others may have copied: refuse it rather than sign with it.
  if ((info.mode & 0o077) !== 0) {
    throw new IdentityError(
      `${path} is readable by other users (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
    );
  }
  const bytes = parseKeypair(await readFile(path, "utf8"), path);
  const secretKey = bytes.slice(0, 32);
  const publicKey = await ed.getPublicKeyAsync(secretKey);
  if (!equalBytes(publicKey, bytes.slice(32))) {
    throw new IdentityError(`${path}: the public key half does not belong to the secret key`);
  }
  return { secretKey, publicKey, publicKeyBase58: encodeBase58(publicKey), path };
}

async function createIdentity(dataDir: string, path: string): Promise<AgentIdentity> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const secretKey = ed.utils.randomSecretKey();
  const publicKey = await ed.getPublicKeyAsync(secretKey);
  const keypair = [...secretKey, ...publicKey];
  // "wx": never overwrite a key another process created meanwhile; losing a key loses the node.
  await writeFile(path, `${JSON.stringify(keypair)}\n`, { mode: 0o600, flag: "wx" });
  await chmod(path, 0o600);
  return { secretKey, publicKey, publicKeyBase58: encodeBase58(publicKey), path };
}

function parseKeypair(text: string, path: string): Uint8Array {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new IdentityError(`${path} is not JSON; expected a Solana keypair file (an array of 64 bytes)`);
  }
  if (
    !Array.isArray(value) ||
    value.length !== 64 ||
    !value.every((n) => typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 255)
  ) {
    throw new IdentityError(`${path} is not a Solana keypair file: expected a JSON array of 64 bytes`);
  }
  return Uint8Array.from(value as number[]);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function isNotFound(error: unknown): boolean {
  return error instanceof Error && "code" in error && error.code === "ENOENT";
}
