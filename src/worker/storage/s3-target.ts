import { AwsClient } from "aws4fetch";
import { MeridianError } from "../../shared/errors.js";
import { isPrivateHost } from "../../shared/storage/private-address.js";
import type { S3Credentials } from "../../shared/storage/secrets-api.js";
import type { CompletedPart, ObjectStat, ObjectTarget, StoredObject } from "./object-target.js";
import {
  deleteKeys,
  deleteS3Prefix,
  escapeXml,
  listPage,
  S3_PAGE_KEYS,
  type S3Caller,
} from "./s3-prefix-delete.js";
import { urlTtlMs } from "./signed-url.js";

export interface S3Location {
  endpoint: string;
  region: string;
  bucket: string;
  /** The secret holding the credentials (recorded, never the credentials themselves). */
  credentialsSecret: string;
}

/** Hosts a deployment lets S3 endpoints name although they are private (a local emulator). */
function allowedPrivateHosts(env: Env): string[] {
  const raw = (env as { STORAGE_PRIVATE_HOSTS_ALLOWED?: unknown }).STORAGE_PRIVATE_HOSTS_ALLOWED;
  return typeof raw === "string"
    ? raw
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean)
    : [];
}

/** 422 for an endpoint the Worker must not call: a private address (no SSRF), or plain HTTP in public. */
export function checkEndpoint(env: Env, endpoint: string): void {
  const url = new URL(endpoint);
  const host = url.hostname.toLowerCase();
  if (allowedPrivateHosts(env).includes(host)) return;
  if (isPrivateHost(host)) {
    throw new MeridianError(422, "private_address", `the S3 endpoint ${host} is a private or local address`);
  }
  if (url.protocol !== "https:") {
    throw new MeridianError(422, "insecure_endpoint", "an S3 endpoint on a public address must use https://");
  }
}

function encodeKey(key: string): string {
  return key.split("/").map(encodeURIComponent).join("/");
}

/**
 * A user's S3-compatible store: requests signed (SigV4, with aws4fetch) with the credentials from
 * their secret; the agent only ever gets presigned URLs that expire.
 */
export class S3Target implements ObjectTarget {
  private readonly client: AwsClient;

  constructor(
    private readonly env: Env,
    private readonly location: S3Location,
    credentials: S3Credentials,
  ) {
    checkEndpoint(env, location.endpoint);
    this.client = new AwsClient({
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
      service: "s3",
      region: location.region,
      retries: 2,
    });
  }

  stored(key: string): StoredObject {
    const { endpoint, region, bucket, credentialsSecret } = this.location;
    return { kind: "s3", endpoint, region, bucket, key, credentials: credentialsSecret };
  }

  private objectUrl(key: string, query: Record<string, string> = {}): URL {
    const url = new URL(
      `${this.location.endpoint.replace(/\/+$/, "")}/${this.location.bucket}/${encodeKey(key)}`,
    );
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
    return url;
  }

  private async presign(method: string, url: URL): Promise<string> {
    url.searchParams.set("X-Amz-Expires", String(Math.floor(urlTtlMs(this.env) / 1000)));
    const signed = await this.client.sign(url.toString(), { method, aws: { signQuery: true } });
    return signed.url;
  }

  private bucketUrl(): URL {
    return new URL(`${this.location.endpoint.replace(/\/+$/, "")}/${this.location.bucket}`);
  }

  private async call(
    method: string,
    url: URL,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<Response> {
    let response: Response;
    try {
      response = await this.client.fetch(url.toString(), {
        method,
        headers,
        ...(body !== undefined ? { body } : {}),
      });
    } catch (error) {
      throw new MeridianError(
        422,
        "storage_unreachable",
        `the S3 endpoint did not answer: ${String(error).slice(0, 200)}`,
      );
    }
    return response;
  }

  private async refuse(what: string, response: Response): Promise<never> {
    const text = await response.text().catch(() => "");
    const code = /<Code>([^<]{1,64})<\/Code>/.exec(text)?.[1] ?? `HTTP ${response.status}`;
    throw new MeridianError(
      422,
      "storage_refused",
      `the S3 store refused ${what} in bucket ${this.location.bucket}: ${code}`,
    );
  }

  getUrl(key: string): Promise<string> {
    return this.presign("GET", this.objectUrl(key));
  }

  putUrl(key: string): Promise<string> {
    return this.presign("PUT", this.objectUrl(key));
  }

  async createMultipart(key: string): Promise<string> {
    const response = await this.call("POST", this.objectUrl(key, { uploads: "" }));
    if (!response.ok) return this.refuse(`starting an upload of ${key}`, response);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(await response.text())?.[1];
    if (!uploadId) throw new MeridianError(422, "storage_refused", "the S3 store gave no UploadId");
    return uploadId;
  }

  partUrl(key: string, uploadId: string, partNumber: number): Promise<string> {
    return this.presign("PUT", this.objectUrl(key, { partNumber: String(partNumber), uploadId }));
  }

  async completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<void> {
    const body = `<CompleteMultipartUpload>${parts
      .map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`)
      .join("")}</CompleteMultipartUpload>`;
    const response = await this.call("POST", this.objectUrl(key, { uploadId }), body);
    const text = await response.text();
    // S3 can answer 200 with an error document when completion fails late.
    if (!response.ok || text.includes("<Error>")) {
      return this.refuse(`completing the upload of ${key}`, new Response(text, { status: response.status }));
    }
  }

  /** AbortMultipartUpload; 404 (NoSuchUpload) means it completed or was aborted already. */
  async abortMultipart(key: string, uploadId: string): Promise<void> {
    const response = await this.call("DELETE", this.objectUrl(key, { uploadId }));
    if (response.ok || response.status === 404) {
      await response.body?.cancel();
      return;
    }
    return this.refuse(`aborting the upload of ${key}`, response);
  }

  async head(key: string): Promise<number | undefined> {
    const response = await this.call("HEAD", this.objectUrl(key));
    if (response.status === 404) return undefined;
    if (!response.ok) return this.refuse(`reading ${key}`, response);
    return Number(response.headers.get("content-length") ?? "0");
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    const response = await this.call("HEAD", this.objectUrl(key));
    if (response.status === 404) return undefined;
    if (!response.ok) return this.refuse(`reading ${key}`, response);
    return {
      key,
      size: Number(response.headers.get("content-length") ?? "0"),
      uploadedMs: Date.parse(response.headers.get("last-modified") ?? "") || 0,
    };
  }

  async listPage(
    prefix: string,
    cursor?: string,
  ): Promise<{ objects: ObjectStat[]; cursor: string | undefined }> {
    const page = await listPage(this.caller(), prefix, cursor);
    return { objects: page.objects.filter((o) => o.key.startsWith(prefix)), cursor: page.next };
  }

  async putText(key: string, text: string): Promise<void> {
    const response = await this.call("PUT", this.objectUrl(key), text);
    if (!response.ok) return this.refuse(`writing ${key}`, response);
  }

  private caller(): S3Caller {
    return {
      bucketUrl: () => this.bucketUrl(),
      call: (method, url, body, headers) => this.call(method, url, body, headers),
      refuse: (what, response) => this.refuse(what, response),
    };
  }

  /** ListObjectsV2 a page (1,000 keys) at a time, each page removed with one DeleteObjects. */
  deletePrefix(prefix: string): Promise<number> {
    return deleteS3Prefix(this.caller(), prefix);
  }

  /** These keys deleted, 1,000 per DeleteObjects call; a key already gone is no error (S3's rule). */
  async deleteKeys(keys: readonly string[]): Promise<void> {
    for (let at = 0; at < keys.length; at += S3_PAGE_KEYS)
      await deleteKeys(this.caller(), keys.slice(at, at + S3_PAGE_KEYS));
  }

  async getText(key: string): Promise<string | undefined> {
    const response = await this.call("GET", this.objectUrl(key));
    if (response.status === 404) return undefined;
    if (!response.ok) return this.refuse(`reading ${key}`, response);
    return response.text();
  }
}
