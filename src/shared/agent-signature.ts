import * as ed from "@noble/ed25519";
import { decodeBase58, encodeBase58 } from "./base58.js";

/**
 * How agents sign requests: ed25519 over a canonical string of the method, the path with its
 * query, the SHA-256 of the body, a timestamp and a single-use nonce. The public key travels as a
 * base58 string, so a node's identity is also a Solana address.
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
  pathAndQuery: string;
  bodySha256: string;
  timestamp: number;
  nonce: string;
}

export function canonicalString(parts: SignedParts): string {
  return [
    "MERIDIAN-ED25519-V1",
    parts.method.toUpperCase(),
    parts.pathAndQuery,
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
