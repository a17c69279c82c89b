/** Where an object's bytes live, as stored in D1 (job outputs) so a download link can be made later. */
export type StoredObject =
  | { kind: "r2"; key: string }
  | { kind: "s3"; endpoint: string; region: string; bucket: string; key: string; credentials: string };

export interface CompletedPart {
  partNumber: number;
  etag: string;
}

/** An object as a listing or a HEAD shows it. */
export interface ObjectStat {
  key: string;
  size: number;
  /** When it was written (ms since the epoch; S3 stores give it to the second). */
  uploadedMs: number;
}

/**
 * One object store as the control plane uses it: it hands out short-lived URLs and does the
 * few calls that need credentials (starting and completing multipart uploads, small manifests).
 */
export interface ObjectTarget {
  stored(key: string): StoredObject;
  getUrl(key: string): Promise<string>;
  /** With `sha256`, the store refuses bytes that do not have it (where it can check). */
  putUrl(key: string, maxBytes: number, sha256?: string): Promise<string>;
  createMultipart(key: string): Promise<string>;
  partUrl(key: string, uploadId: string, partNumber: number, maxBytes: number): Promise<string>;
  completeMultipart(key: string, uploadId: string, parts: CompletedPart[]): Promise<void>;
  /** Frees an unfinished upload's parts; one already completed or aborted is no error. */
  abortMultipart(key: string, uploadId: string): Promise<void>;
  /** The object's size, or undefined when there is none. */
  head(key: string): Promise<number | undefined>;
  putText(key: string, text: string): Promise<void>;
  getText(key: string): Promise<string | undefined>;
  /** Its size and when it was written, or undefined when there is none. */
  stat(key: string): Promise<ObjectStat | undefined>;
  /** One page (at most 1,000) of the objects under `prefix`, and the cursor of the next page. */
  listPage(prefix: string, cursor?: string): Promise<{ objects: ObjectStat[]; cursor: string | undefined }>;
  /** Deletes these keys; one already gone is no error. */
  deleteKeys(keys: readonly string[]): Promise<void>;
  /** Deletes every object whose key starts with `prefix`; how many there were. */
  deletePrefix(prefix: string): Promise<number>;
}
