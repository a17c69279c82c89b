import { MeridianError } from "../../shared/errors.js";
import type { CompletedPart, ObjectStat, ObjectTarget, StoredObject } from "./object-target.js";
import { grantUrl, urlTtlMs } from "./signed-url.js";

/** The platform's R2 bucket, through the Worker's binding; URLs point back at this Worker. */
export class R2Target implements ObjectTarget {
  constructor(
    private readonly env: Env,
    private readonly origin: string,
  ) {}

  stored(key: string): StoredObject {
    return { kind: "r2", key };
  }

  private exp(): number {
    return Date.now() + urlTtlMs(this.env);
  }

  getUrl(key: string): Promise<string> {
    return grantUrl(this.env, this.origin, { op: "get", key, exp: this.exp() });
  }

  putUrl(key: string, maxBytes: number, sha256?: string): Promise<string> {
    return grantUrl(this.env, this.origin, {
      op: "put",
      key,
      exp: this.exp(),
      max: maxBytes,
      ...(sha256 ? { sha256 } : {}),
    });
  }

  async createMultipart(key: string): Promise<string> {
    return (await this.env.STORAGE.createMultipartUpload(key)).uploadId;
  }

  partUrl(key: string, uploadId: string, partNumber: number, maxBytes: number): Promise<string> {
    return grantUrl(this.env, this.origin, {
      op: "part",
      key,
      uploadId,
      part: partNumber,
      exp: this.exp(),
      max: maxBytes,
    });
  }

  async completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    try {
      await this.env.STORAGE.resumeMultipartUpload(key, uploadId).complete(
        parts.map((part) => ({ partNumber: part.partNumber, etag: part.etag })),
      );
    } catch (error) {
      throw new MeridianError(
        422,
        "upload_incomplete",
        `the upload of ${key} could not be completed: ${String(error)}`,
      );
    }
  }

  async abortMultipart(key: string, uploadId: string): Promise<void> {
    try {
      await this.env.STORAGE.resumeMultipartUpload(key, uploadId).abort();
    } catch (error) {
      // Completed or aborted already: nothing is left of it to free.
      if (!/NoSuchUpload|does not exist|not found/i.test(String(error))) throw error;
    }
  }

  async head(key: string): Promise<number | undefined> {
    return (await this.env.STORAGE.head(key))?.size;
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    const object = await this.env.STORAGE.head(key);
    return object ? { key, size: object.size, uploadedMs: object.uploaded.getTime() } : undefined;
  }

  async listPage(
    prefix: string,
    cursor?: string,
  ): Promise<{ objects: ObjectStat[]; cursor: string | undefined }> {
    const page = await this.env.STORAGE.list({ prefix, limit: 1000, ...(cursor ? { cursor } : {}) });
    return {
      objects: page.objects.map((object) => ({
        key: object.key,
        size: object.size,
        uploadedMs: object.uploaded.getTime(),
      })),
      cursor: page.truncated ? page.cursor : undefined,
    };
  }

  async deleteKeys(keys: readonly string[]): Promise<void> {
    // The binding deletes at most 1,000 keys a call.
    for (let at = 0; at < keys.length; at += 1000) await this.env.STORAGE.delete(keys.slice(at, at + 1000));
  }

  async putText(key: string, text: string): Promise<void> {
    await this.env.STORAGE.put(key, text, { httpMetadata: { contentType: "application/json" } });
  }

  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0;
    let cursor: string | undefined;
    do {
      const page = await this.env.STORAGE.list({ prefix, limit: 1000, ...(cursor ? { cursor } : {}) });
      if (page.objects.length > 0) await this.env.STORAGE.delete(page.objects.map((object) => object.key));
      deleted += page.objects.length;
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
    return deleted;
  }

  async getText(key: string): Promise<string | undefined> {
    const object = await this.env.STORAGE.get(key);
    return object ? object.text() : undefined;
  }
}
