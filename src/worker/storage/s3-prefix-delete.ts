import { createHash } from "node:crypto";
import type { ObjectStat } from "./object-target.js";

/** The most keys S3 lists in one ListObjectsV2 page, and deletes in one DeleteObjects call. */
export const S3_PAGE_KEYS = 1000;

/** What deleting under a prefix needs of the store: signed calls, and how to turn a refusal into a 422. */
export interface S3Caller {
  bucketUrl(): URL;
  call(method: string, url: URL, body?: string, headers?: Record<string, string>): Promise<Response>;
  refuse(what: string, response: Response): Promise<never>;
}

/** One ListObjectsV2 page: its keys (with size and time), and the token of the next page when there is one. */
export interface ListPage {
  keys: string[];
  objects: ObjectStat[];
  next: string | undefined;
}

function contentsOf(text: string): ObjectStat[] {
  return [...text.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)].map((m) => {
    const block = m[1] ?? "";
    return {
      key: unescapeXml(/<Key>([^<]+)<\/Key>/.exec(block)?.[1] ?? ""),
      size: Number(/<Size>(\d+)<\/Size>/.exec(block)?.[1] ?? "0"),
      uploadedMs: Date.parse(/<LastModified>([^<]+)<\/LastModified>/.exec(block)?.[1] ?? "") || 0,
    };
  });
}

export async function listPage(
  store: S3Caller,
  prefix: string,
  token: string | undefined,
): Promise<ListPage> {
  const url = store.bucketUrl();
  url.searchParams.set("list-type", "2");
  url.searchParams.set("prefix", prefix);
  url.searchParams.set("max-keys", String(S3_PAGE_KEYS));
  if (token) url.searchParams.set("continuation-token", token);
  const response = await store.call("GET", url);
  if (!response.ok) return store.refuse(`listing ${prefix}`, response);
  const text = await response.text();
  const keys = [...text.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => unescapeXml(m[1] ?? ""));
  const truncated = /<IsTruncated>true<\/IsTruncated>/.test(text);
  const next = truncated
    ? /<NextContinuationToken>([^<]+)<\/NextContinuationToken>/.exec(text)?.[1]
    : undefined;
  if (truncated && next === undefined) {
    return store.refuse(
      `listing ${prefix} (a truncated page with no continuation token)`,
      new Response(text),
    );
  }
  return { keys, objects: contentsOf(text), next: next === undefined ? undefined : unescapeXml(next) };
}

/**
 * DeleteObjects for up to 1,000 keys in one call (S3 requires its Content-MD5). Quiet mode: the
 * answer lists only the keys it failed to delete, and any is a refusal (the sweep tries again).
 */
export async function deleteKeys(store: S3Caller, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  const body = `<?xml version="1.0" encoding="UTF-8"?><Delete><Quiet>true</Quiet>${keys
    .map((key) => `<Object><Key>${escapeXml(key)}</Key></Object>`)
    .join("")}</Delete>`;
  const url = store.bucketUrl();
  url.searchParams.set("delete", "");
  const response = await store.call("POST", url, body, {
    "content-md5": createHash("md5").update(body).digest("base64"),
    "content-type": "application/xml",
  });
  const text = await response.text();
  if (!response.ok)
    return store.refuse(`deleting ${keys.length} objects`, new Response(text, { status: response.status }));
  const failed = /<Error>\s*<Key>([^<]*)<\/Key>\s*<Code>([^<]*)<\/Code>/.exec(text);
  if (failed) {
    return store.refuse(
      `deleting ${unescapeXml(failed[1] ?? "")}`,
      new Response(`<Code>${failed[2] ?? ""}</Code>`, { status: 200 }),
    );
  }
}

/**
 * Every key under `prefix` deleted, a page (≤ 1,000 keys) at a time: one list and one DeleteObjects
 * per page, so a prefix of any size takes two subrequests per thousand objects.
 */
export async function deleteS3Prefix(store: S3Caller, prefix: string): Promise<number> {
  let deleted = 0;
  let token: string | undefined;
  do {
    const page = await listPage(store, prefix, token);
    // Only keys under the prefix, whatever the store answered.
    const keys = page.keys.filter((key) => key.startsWith(prefix));
    await deleteKeys(store, keys);
    deleted += keys.length;
    token = page.next;
  } while (token);
  return deleted;
}

export function unescapeXml(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&amp;/g, "&");
}

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}
