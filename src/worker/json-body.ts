import type { Context } from "hono";
import type { z } from "zod";
import { MeridianError } from "../shared/errors.js";

/** Bodies larger than this are refused before they are parsed. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** zod says "Invalid key in record" for a refused record key; the key's own refusal says why. */
function messageOf(issue: z.ZodError["issues"][number]): string {
  if (issue.code === "invalid_key") return issue.issues[0]?.message ?? issue.message;
  return issue.message;
}

function issues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues
    .slice(0, 20)
    .map((issue) => ({ path: issue.path.join("."), message: messageOf(issue) }));
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const list = issues(parsed.error);
    const first = list[0];
    const summary = first ? `${first.path ? `${first.path}: ` : ""}${first.message}` : "invalid";
    throw new MeridianError(400, "invalid_request", `invalid ${what}: ${summary}`, { issues: list });
  }
  return parsed.data;
}

/** Parses text as JSON, refusing malformed JSON with a 400 rather than a thrown SyntaxError. */
export function parseJsonText(text: string): unknown {
  if (text.trim() === "")
    throw new MeridianError(400, "invalid_json", "the request body is empty; send a JSON object");
  try {
    return JSON.parse(text);
  } catch {
    throw new MeridianError(400, "invalid_json", "the request body is not valid JSON");
  }
}

/** Reads the body (≤ 1 MiB, JSON content type) and validates it against a schema. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new MeridianError(415, "unsupported_media_type", "send the body as application/json");
  }
  return parseOrThrow(schema, parseJsonText(await readText(c)), "request body");
}

/** The raw body as text, refusing bodies over `limit` bytes whatever Content-Length claims. */
export async function readText(c: Context, limit = MAX_BODY_BYTES): Promise<string> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > limit) tooLarge(limit);
  const body = c.req.raw.body;
  if (!body) return "";
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      tooLarge(limit);
    }
    parts.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new MeridianError(400, "invalid_encoding", "the request body is not valid UTF-8");
  }
}

function tooLarge(limit: number): never {
  throw new MeridianError(413, "body_too_large", `the request body is larger than ${limit} bytes`);
}

export function queryOf<S extends z.ZodType>(c: Context, schema: S): z.output<S> {
  return parseOrThrow(schema, c.req.query(), "query");
}
