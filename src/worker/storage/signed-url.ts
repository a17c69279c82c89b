import { z } from "zod";
import { MeridianError } from "../../shared/errors.js";
import { urlSigningKey } from "./worker-keys.js";

/**
 * A capability for one operation on one R2 object, carried in a URL: what, which key, until when,
 * signed (HMAC-SHA256) with a key only the Worker has. It is what a presigned URL is for S3, for
 * the objects the Worker serves from its R2 binding.
 */
export const UrlGrant = z.discriminatedUnion("op", [
  z.object({ op: z.literal("get"), key: z.string(), exp: z.number().int() }),
  z.object({
    op: z.literal("put"),
    key: z.string(),
    exp: z.number().int(),
    max: z.number().int(),
    /** R2 refuses the upload unless the bytes have this SHA-256 (content-addressed blobs). */
    sha256: z.string().optional(),
  }),
  z.object({
    op: z.literal("part"),
    key: z.string(),
    exp: z.number().int(),
    max: z.number().int(),
    uploadId: z.string(),
    part: z.number().int().min(1).max(10_000),
  }),
]);
export type UrlGrant = z.infer<typeof UrlGrant>;

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded + "=".repeat((4 - (padded.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

/** Signs any JSON value into `payload.signature` (base64url both). */
export async function signToken(env: Env, value: unknown): Promise<string> {
  const payload = base64url(encoder.encode(JSON.stringify(value)));
  const mac = await crypto.subtle.sign("HMAC", await urlSigningKey(env), encoder.encode(payload));
  return `${payload}.${base64url(new Uint8Array(mac))}`;
}

/** The value a token carries, or a 403 when it was not signed here. */
export async function verifyToken(env: Env, token: string): Promise<unknown> {
  const [payload, signature, extra] = token.split(".");
  if (!payload || !signature || extra !== undefined) {
    throw new MeridianError(403, "bad_signature", "this storage URL is malformed");
  }
  let valid = false;
  try {
    valid = await crypto.subtle.verify(
      "HMAC",
      await urlSigningKey(env),
      fromBase64url(signature),
      encoder.encode(payload),
    );
  } catch (error) {
    if (error instanceof MeridianError) throw error;
    valid = false;
  }
  if (!valid) throw new MeridianError(403, "bad_signature", "this storage URL's signature does not verify");
  try {
    return JSON.parse(new TextDecoder().decode(fromBase64url(payload)));
  } catch {
    throw new MeridianError(403, "bad_signature", "this storage URL is malformed");
  }
}

export async function grantUrl(env: Env, origin: string, grant: UrlGrant): Promise<string> {
  return `${origin}/v1/storage/r2/${await signToken(env, grant)}`;
}

/** The grant a URL token carries, checked for signature and expiry. */
export async function readGrant(env: Env, token: string, now: number): Promise<UrlGrant> {
  const parsed = UrlGrant.safeParse(await verifyToken(env, token));
  if (!parsed.success) throw new MeridianError(403, "bad_signature", "this storage URL is malformed");
  if (parsed.data.exp < now)
    throw new MeridianError(403, "url_expired", "this storage URL has expired; ask for a new one");
  return parsed.data;
}

export function urlTtlMs(env: Env): number {
  const seconds = Number((env as { STORAGE_URL_TTL_SECONDS?: unknown }).STORAGE_URL_TTL_SECONDS ?? 900);
  return (Number.isFinite(seconds) && seconds > 0 ? seconds : 900) * 1000;
}
