import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobOutputs, storageUploads } from "../../../schema/storage.js";
import { MeridianError } from "../../shared/errors.js";
import type { UploadUrlsResponse } from "../../shared/storage/agent-storage-protocol.js";
import { secretNamesOf } from "../../shared/storage/env-secrets.js";
import type { AttemptContext } from "./attempt-grant.js";
import { openCheckpointPlace } from "./checkpoint-place.js";
import { BlobUploadToken } from "./checkpoint-store.js";
import { multipartRenewed } from "./multipart-uploads.js";
import type { ObjectTarget, StoredObject } from "./object-target.js";
import { UploadToken } from "./output-uploads.js";
import { openSecrets } from "./secret-store.js";
import { verifyToken } from "./signed-url.js";
import { partSizeBytes } from "./storage-config.js";
import { targetOfStored } from "./targets.js";

/** What a renewal needs to know of the upload a token names, whichever route began it. */
interface OpenUpload {
  target: ObjectTarget;
  key: string;
  uploadId: string | null;
  parts: number;
  /** For a single PUT: its size and SHA-256 (R2 checks it), and the output path it lists as. */
  single?: { size: number; sha256: string; path: string };
}

const BAD_UPLOAD = "this upload was not started for this attempt";

/** The upload behind a token signed here for this attempt (an output) or its job (a checkpoint blob). */
async function uploadOf(
  env: Env,
  origin: string,
  attempt: AttemptContext,
  token: string,
): Promise<OpenUpload> {
  const value = await verifyToken(env, token);
  const output = UploadToken.safeParse(value);
  if (output.success) {
    const t = output.data;
    if (t.jobId !== attempt.jobId || t.attemptId !== attempt.attemptId)
      throw new MeridianError(403, "bad_upload", BAD_UPLOAD);
    const names = secretNamesOf({ env: {}, outputs: attempt.spec.outputs });
    const secrets = await openSecrets(env, attempt.accountId, names);
    return {
      target: targetOfStored(env, origin, t.stored as StoredObject, secrets),
      key: t.stored.key,
      uploadId: t.uploadId,
      parts: t.parts,
      single: { size: t.size, sha256: t.sha256, path: t.path },
    };
  }
  const blob = BlobUploadToken.safeParse(value);
  if (!blob.success || blob.data.jobId !== attempt.jobId)
    throw new MeridianError(403, "bad_upload", BAD_UPLOAD);
  const place = await openCheckpointPlace(env, origin, attempt);
  if (!blob.data.key.startsWith(`${place.prefix}/`)) throw new MeridianError(403, "bad_upload", BAD_UPLOAD);
  return { target: place.target, key: blob.data.key, uploadId: blob.data.uploadId, parts: blob.data.parts };
}

/**
 * Fresh URLs for an upload the attempt began and has not completed: part URLs for the parts it
 * names (a multipart upload still recorded open), or a new PUT URL (a single-PUT output not yet
 * listed). The sweep then waits for the new URLs to expire before it aborts the upload.
 */
export async function renewUploadUrls(
  env: Env,
  origin: string,
  attempt: AttemptContext,
  request: { upload: string; partNumbers?: number[] | undefined },
  now = Date.now(),
): Promise<UploadUrlsResponse> {
  const upload = await uploadOf(env, origin, attempt, request.upload);
  const numbers = request.partNumbers ?? [];
  const db = drizzle(env.DB);
  if (upload.uploadId === null) {
    if (numbers.length > 0)
      throw new MeridianError(422, "bad_part", "this upload is a single PUT: it has no parts");
    const single = upload.single;
    if (!single) throw new MeridianError(403, "bad_upload", BAD_UPLOAD);
    const listed = await db
      .select({ attemptId: jobOutputs.attemptId })
      .from(jobOutputs)
      .where(and(eq(jobOutputs.jobId, attempt.jobId), eq(jobOutputs.path, single.path)))
      .get();
    if (listed?.attemptId === attempt.attemptId)
      throw new MeridianError(409, "upload_closed", `${single.path} is uploaded and listed already`);
    return { url: await upload.target.putUrl(upload.key, single.size, single.sha256) };
  }
  if (numbers.length === 0)
    throw new MeridianError(422, "bad_part", "name the parts still to send (partNumbers)");
  const beyond = numbers.find((n) => n > upload.parts);
  if (beyond !== undefined)
    throw new MeridianError(422, "bad_part", `part ${beyond} is past this upload's ${upload.parts} parts`);
  const open = await db
    .select({ jobId: storageUploads.jobId })
    .from(storageUploads)
    .where(eq(storageUploads.uploadId, upload.uploadId))
    .get();
  if (!open || open.jobId !== attempt.jobId) {
    throw new MeridianError(
      404,
      "no_such_upload",
      "this upload was completed or aborted; begin it again to send its bytes",
    );
  }
  const partSize = partSizeBytes(env);
  const { uploadId } = upload;
  const parts = await Promise.all(
    [...numbers]
      .sort((a, b) => a - b)
      .map(async (partNumber) => ({
        partNumber,
        url: await upload.target.partUrl(upload.key, uploadId, partNumber, partSize),
      })),
  );
  await multipartRenewed(env, uploadId, now);
  return { parts };
}
