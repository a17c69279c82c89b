import type { z } from "zod";
import {
  CheckpointBlobsResponse,
  CheckpointCommitResponse,
  type ManifestFile,
  type OutputFile,
  OutputsBeginResponse,
  OutputsCompleteResponse,
  StorageGrant,
  UploadUrlsResponse,
} from "../../shared/storage/agent-storage-protocol.js";
import type { ControlPlaneClient } from "../control-plane-client.js";

/** The storage routes of one attempt, each call carrying its fencing number. */
export interface StorageApi {
  grant(): Promise<StorageGrant>;
  blobs(blobs: { sha256: string; size: number }[]): Promise<z.infer<typeof CheckpointBlobsResponse>>;
  commit(
    files: ManifestFile[],
    uploads?: { upload: string; parts: { partNumber: number; etag: string }[] }[],
  ): Promise<z.infer<typeof CheckpointCommitResponse>>;
  beginOutputs(files: OutputFile[]): Promise<z.infer<typeof OutputsBeginResponse>>;
  completeOutputs(
    uploads: { upload: string; parts?: { partNumber: number; etag: string }[] }[],
  ): Promise<z.infer<typeof OutputsCompleteResponse>>;
  /** Fresh URLs for an open upload (its first ones expired): the parts named, or its one PUT. */
  uploadUrls(upload: string, partNumbers?: number[]): Promise<UploadUrlsResponse>;
}

export function storageApi(client: ControlPlaneClient, attemptId: string, fencing: number): StorageApi {
  const call = <T>(step: string, body: object, schema: z.ZodType<T>): Promise<T> =>
    client.storage(attemptId, step, { fencing, ...body }, schema, { retries: 4, timeoutMs: 30_000 });
  return {
    grant: () => call("grant", {}, StorageGrant),
    blobs: (blobs) => call("checkpoint/blobs", { blobs }, CheckpointBlobsResponse),
    commit: (files, uploads = []) =>
      call(
        "checkpoint/commit",
        uploads.length > 0 ? { files, uploads } : { files },
        CheckpointCommitResponse,
      ),
    beginOutputs: (files) => call("outputs/begin", { files }, OutputsBeginResponse),
    completeOutputs: (uploads) => call("outputs/complete", { uploads }, OutputsCompleteResponse),
    uploadUrls: (upload, partNumbers) =>
      call("urls", partNumbers ? { upload, partNumbers } : { upload }, UploadUrlsResponse),
  };
}
