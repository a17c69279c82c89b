import { z } from "zod";
import { Fencing } from "../agent-protocol.js";

/**
 * Messages between an agent and the control plane about an attempt's data, under
 * /v1/agent/attempts/:attemptId/storage/…, each signed like every agent request and honoured only
 * for the current lease. The agent never sees a user's long-lived credentials: it gets
 * short-lived URLs, one per object or part.
 */

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const RelativePath = z
  .string()
  .min(1)
  .max(1024)
  .refine(
    (path) => !path.startsWith("/") && !path.split("/").some((p) => p === "" || p === "." || p === ".."),
    "a relative path without empty, . or .. parts",
  );

export const FencedRequest = z.object({ fencing: Fencing }).strict();

/** One object of a checkpoint: its path under the checkpoint folder and its content hash. */
export const ManifestFile = z
  .object({
    path: RelativePath,
    sha256: Sha256,
    size: z.number().int().min(0),
    mode: z.number().int().min(0).max(0o7777),
  })
  .strict();
export type ManifestFile = z.infer<typeof ManifestFile>;

/** A checkpoint's manifest: written after every blob it names, so a manifest means complete. */
export const CheckpointManifest = z
  .object({
    jobId: z.string(),
    attemptId: z.string(),
    seq: z.number().int().min(1),
    createdAt: z.number().int(),
    files: z.array(ManifestFile).max(100_000),
  })
  .strict();
export type CheckpointManifest = z.infer<typeof CheckpointManifest>;

/** What the agent needs to prepare an attempt: the secret env, input URLs, the checkpoint to restore. */
export const StorageGrant = z.object({
  env: z.record(z.string(), z.string()),
  inputs: z.array(
    z.object({
      from: z.string(),
      to: z.string(),
      url: z.string(),
      sha256: Sha256.optional(),
      cid: z.string().optional(),
    }),
  ),
  outputs: z.array(z.object({ path: z.string(), ipfs: z.boolean() })),
  checkpoint: z
    .object({
      path: z.string(),
      intervalSeconds: z.number().int(),
      restore: z
        .object({
          seq: z.number().int(),
          files: z.array(ManifestFile.extend({ url: z.string() })),
        })
        .nullable(),
    })
    .nullable(),
  /** Files larger than this are uploaded in parts of this size. */
  partSizeBytes: z
    .number()
    .int()
    .min(5 * 1024 * 1024),
});
export type StorageGrant = z.infer<typeof StorageGrant>;

/** POST …/storage/checkpoint/blobs: the blobs a sync would upload; the answer skips those stored. */
export const CheckpointBlobsRequest = z
  .object({
    fencing: Fencing,
    blobs: z.array(z.object({ sha256: Sha256, size: z.number().int().min(0) }).strict()).max(10_000),
  })
  .strict();
/**
 * Each missing blob gets one PUT URL, or (over the part size: a deployed Worker takes at most
 * 100 MB a request) the URLs of a multipart upload's parts and a signed `upload` naming it.
 */
export const BlobUpload = z.object({
  sha256: Sha256,
  url: z.string().optional(),
  upload: z.string().optional(),
  parts: z.array(z.object({ partNumber: z.number().int().min(1), url: z.string() })).optional(),
  partSizeBytes: z.number().int().optional(),
});
export type BlobUpload = z.infer<typeof BlobUpload>;
export const CheckpointBlobsResponse = z.object({ uploads: z.array(BlobUpload) });
export type CheckpointBlobsResponse = z.infer<typeof CheckpointBlobsResponse>;

const CompletedParts = z
  .array(z.object({ partNumber: z.number().int().min(1).max(10_000), etag: z.string().max(256) }).strict())
  .max(10_000);

/**
 * POST …/storage/checkpoint/commit: every blob is stored (the multipart ones once `uploads` are
 * completed, which the commit does first); record the manifest (last).
 */
export const CheckpointCommitRequest = z
  .object({
    fencing: Fencing,
    files: z.array(ManifestFile).max(100_000),
    uploads: z
      .array(z.object({ upload: z.string().max(8192), parts: CompletedParts }).strict())
      .max(10_000)
      .optional(),
  })
  .strict();
export const CheckpointCommitResponse = z.object({ seq: z.number().int(), bytes: z.number().int() });

const OutputFile = z
  .object({
    /** Which of the spec's outputs it is in, and its path under that folder. */
    output: z.number().int().min(0).max(15),
    path: RelativePath,
    size: z
      .number()
      .int()
      .min(0)
      .max(5 * 1024 ** 4),
    sha256: Sha256,
    cid: z.string().max(128).optional(),
  })
  .strict();
export type OutputFile = z.infer<typeof OutputFile>;

/** POST …/storage/outputs/begin: files to upload; each gets a PUT URL, or part URLs and an upload. */
export const OutputsBeginRequest = z
  .object({ fencing: Fencing, files: z.array(OutputFile).min(1).max(1000) })
  .strict();
export const UploadPlan = z.object({
  /** Opaque and signed: names the object and the upload for `complete`. */
  upload: z.string(),
  url: z.string().optional(),
  parts: z.array(z.object({ partNumber: z.number().int().min(1), url: z.string() })).optional(),
  partSizeBytes: z.number().int(),
});
export type UploadPlan = z.infer<typeof UploadPlan>;
export const OutputsBeginResponse = z.object({ uploads: z.array(UploadPlan) });

/** POST …/storage/outputs/complete: the parts' ETags; the files are then listed as the job's outputs. */
export const OutputsCompleteRequest = z
  .object({
    fencing: Fencing,
    uploads: z
      .array(
        z
          .object({
            upload: z.string().max(8192),
            parts: CompletedParts.optional(),
          })
          .strict(),
      )
      .min(1)
      .max(1000),
  })
  .strict();
export const OutputsCompleteResponse = z.object({ recorded: z.number().int() });

/**
 * POST …/storage/urls: fresh URLs for an upload still open, because the first ones expire
 * (STORAGE_URL_TTL_SECONDS) before a long upload ends. `upload` is the signed token `outputs/begin`
 * or `checkpoint/blobs` gave; `partNumbers` the parts still to send (none for a single-PUT output).
 */
export const UploadUrlsRequest = z
  .object({
    fencing: Fencing,
    upload: z.string().min(1).max(8192),
    partNumbers: z
      .array(z.number().int().min(1).max(10_000))
      .max(1000)
      .refine((numbers) => new Set(numbers).size === numbers.length, "each part number once")
      .optional(),
  })
  .strict();
export const UploadUrlsResponse = z.object({
  url: z.string().optional(),
  parts: z.array(z.object({ partNumber: z.number().int().min(1), url: z.string() })).optional(),
});
export type UploadUrlsResponse = z.infer<typeof UploadUrlsResponse>;

/** GET /v1/jobs/:id/outputs */
export const OutputView = z.object({
  path: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  cid: z.string().nullable(),
  attemptId: z.string(),
  location: z.string(),
  downloadUrl: z.string(),
  createdAt: z.string(),
  /**
   * When the file is deleted (its upload plus the output's keep), billed per GB-month until then;
   * null for a file in the user's own S3 bucket (it stays there, billed by their provider).
   */
  expiresAt: z.string().nullable(),
});
export type OutputView = z.infer<typeof OutputView>;
export const OutputList = z.object({ outputs: z.array(OutputView) });
