/** Where an object's bytes live, as stored in D1 (job outputs) so a download link can be made later. */
export type StoredObject =
  | { kind: "r2"; key: string }
  | { kind: "s3"; endpoint: string; region: string; bucket: string; key: string; credentials: string };

export interface CompletedPart {
  partNumber: number;
  etag: string;
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
  /** Deletes every object whose key starts with `prefix`; how many there were. */
  deletePrefix(prefix: string): Promise<number>;
}
