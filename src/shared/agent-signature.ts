import * as ed from "@noble/ed25519";
import { decodeBase58, encodeBase58 } from "./base58.js";

/**
 * How agents sign requests: ed25519 over a canonical string of the method, the host the request
 * is addressed to, the path with its query, the region it is meant for, the SHA-256 of its
 * Authorization header, the SHA-256 of the body, a timestamp and a single-use nonce. Nonces are
 * remembered per region, so the host and region in the signed string are what stop a captured
 * request from being replayed to another region or another deployment within the window; the
 * Authorization digest stops one from being replayed under another account's API key. The public
 * key travels as a base58 string, so a node's identity is also a Solana address.
 */
export const SIGNATURE_HEADERS = {
  publicKey: "x-meridian-public-key",
  nodeId: "x-meridian-node",
  region: "x-meridian-region",
  timestamp: "x-meridian-timestamp",
  nonce: "x-meridian-nonce",
  signature: "x-meridian-signature",
} as const;

/** A signed request older or newer than this (ms) is refused. */
export const SIGNATURE_WINDOW_MS = 30_000;

export async function sha256Hex(body: Uint8Array<ArrayBuffer> | string): Promise<string> {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface SignedParts {
  method: string;
  /** The URL's host (name and port, lower case), as the request was addressed. */
  host: string;
  pathAndQuery: string;
  /** The x-meridian-region header: the region the request is meant for ("" when none is named). */
  region: string;
  /** `authorizationDigest` of the Authorization header. */
  authorization: string;
  bodySha256: string;
  timestamp: number;
  nonce: string;
}

/** What stands for the Authorization header in the signed string: its SHA-256, or "-" when absent. */
export async function authorizationDigest(header: string | null | undefined): Promise<string> {
  return header ? sha256Hex(header) : "-";
}

export function canonicalString(parts: SignedParts): string {
  return [
    "MERIDIAN-ED25519-V2",
    parts.method.toUpperCase(),
    parts.host.toLowerCase(),
    parts.pathAndQuery,
    parts.region,
    parts.authorization,
    parts.bodySha256,
    String(parts.timestamp),
    parts.nonce,
  ].join("\n");
}

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array | undefined {
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

export function newNonce(): string {
  return encodeBase58(crypto.getRandomValues(new Uint8Array(16)));
}

export async function signParts(secretKey: Uint8Array, parts: SignedParts): Promise<string> {
  const signature = await ed.signAsync(new TextEncoder().encode(canonicalString(parts)), secretKey);
  return toBase64(signature);
}

export async function verifyParts(
  publicKeyBase58: string,
  signatureBase64: string,
  parts: SignedParts,
): Promise<boolean> {
  const publicKey = decodeBase58(publicKeyBase58);
  const signature = fromBase64(signatureBase64);
  if (publicKey?.length !== 32 || signature?.length !== 64) return false;
  try {
    return await ed.verifyAsync(signature, new TextEncoder().encode(canonicalString(parts)), publicKey);
  } catch {
    return false;
  }
}

export async function publicKeyOf(secretKey: Uint8Array): Promise<string> {
  return encodeBase58(await ed.getPublicKeyAsync(secretKey));
}
