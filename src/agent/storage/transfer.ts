import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { errorMessage } from "../agent-log.js";

/** Moves bytes to and from presigned URLs, with retries; no credentials ever pass through here. */

export class TransferError extends Error {
  constructor(
    message: string,
    /** An HTTP status that retrying will not change (403, 404). */
    readonly final = false,
    /** The store's HTTP status, when it answered one (403: the URL expired or was refused). */
    readonly status?: number,
  ) {
    super(message);
    this.name = "TransferError";
  }
}

const RETRIES = 3;

async function retrying<T>(what: string, work: () => Promise<T>): Promise<T> {
  let last: unknown;
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    try {
      return await work();
    } catch (error) {
      last = error;
      if (error instanceof TransferError && error.final) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * 2 ** attempt));
    }
  }
  throw new TransferError(`${what}: ${errorMessage(last)}`);
}

function statusError(what: string, status: number): TransferError {
  return new TransferError(
    `${what}: HTTP ${status}`,
    status >= 400 && status < 500 && status !== 408 && status !== 429,
    status,
  );
}

/** Downloads a URL to a file, hashing as it goes; returns the SHA-256 and the size. */
export async function download(
  url: string,
  to: string,
  what: string,
): Promise<{ sha256: string; size: number }> {
  return retrying(`downloading ${what}`, async () => {
    const response = await fetch(url, { redirect: "follow" });
    if (!response.ok || !response.body) {
      await response.body?.cancel();
      throw statusError(`downloading ${what}`, response.status);
    }
    const hash = createHash("sha256");
    let size = 0;
    const source = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>);
    source.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    try {
      await pipeline(source, createWriteStream(to));
    } catch (error) {
      await rm(to, { force: true });
      throw error;
    }
    return { sha256: hash.digest("hex"), size };
  });
}

/**
 * PUTs a byte range of a file to a URL; returns the ETag the store answered and the SHA-256 of
 * the bytes that were sent (a file rewritten meanwhile shows up as another hash).
 */
export async function uploadRange(
  url: string,
  file: string,
  start: number,
  length: number,
  what: string,
): Promise<{ etag: string; sha256: string }> {
  return retrying(`uploading ${what}`, async () => {
    const hash = createHash("sha256");
    let body: BodyInit = "";
    if (length > 0) {
      const source = createReadStream(file, { start, end: start + length - 1 });
      source.on("data", (chunk) => hash.update(chunk as Buffer));
      body = Readable.toWeb(source) as unknown as ReadableStream<Uint8Array<ArrayBuffer>>;
    }
    const response = await fetch(url, {
      method: "PUT",
      body,
      headers: { "content-length": String(length) },
      // Node's fetch streams a request body only in half-duplex mode.
      ...({ duplex: "half" } as object),
    });
    await response.body?.cancel();
    if (!response.ok) throw statusError(`uploading ${what}`, response.status);
    return { etag: response.headers.get("etag") ?? "", sha256: hash.digest("hex") };
  });
}
