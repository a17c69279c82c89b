import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { jobOutputs } from "../../../schema/storage.js";
import { runBatch } from "../../ledger/ledger-db.js";
import { storageChargeStatements } from "../../ledger/storage-charge.js";
import { MeridianError } from "../../shared/errors.js";
import type { OutputFile, UploadPlan } from "../../shared/storage/agent-storage-protocol.js";
import { secretNamesOf } from "../../shared/storage/env-secrets.js";
import type { JobOutput } from "../../shared/storage/job-storage.js";
import { outputRetentionOf } from "../../shared/storage/output-retention.js";
import { type AttemptContext, ipfsKey } from "./attempt-grant.js";
import { multipartDone, startMultipart } from "./multipart-uploads.js";
import type { CompletedPart, StoredObject } from "./object-target.js";
import { keptCharge } from "./output-delete.js";
import { deleteR2Keys, unsharedKeys } from "./output-sweep.js";
import { openSecrets } from "./secret-store.js";
import { signToken, verifyToken } from "./signed-url.js";
import { partSizeBytes } from "./storage-config.js";
import { joinKey, outputPlace, targetOfStored } from "./targets.js";

/** What an upload token carries: the file, where it goes, and the multipart upload if any. */
export const UploadToken = z.object({
  jobId: z.string(),
  attemptId: z.string(),
  path: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  cid: z.string().nullable(),
  stored: z.custom<StoredObject>((value) => typeof value === "object" && value !== null && "kind" in value),
  uploadId: z.string().nullable(),
  parts: z.number().int(),
});
export type UploadToken = z.infer<typeof UploadToken>;

/** Starts the uploads of an attempt's output files: one PUT URL per small file, part URLs for big ones. */
export async function beginUploads(
  env: Env,
  origin: string,
  attempt: AttemptContext,
  files: OutputFile[],
): Promise<UploadPlan[]> {
  const outputs = attempt.spec.outputs ?? [];
  const secrets = await openSecrets(env, attempt.accountId, secretNamesOf({ env: {}, outputs }));
  const partSize = partSizeBytes(env);
  return Promise.all(
    files.map(async (file) => {
      const output = outputs[file.output];
      if (!output) throw new MeridianError(422, "unknown_output", `the job has no output ${file.output}`);
      const place = outputPlace(env, origin, attempt.accountId, attempt.jobId, output, secrets);
      if (place.ipfs && !file.cid)
        throw new MeridianError(422, "cid_required", `${file.path} goes to IPFS and needs its CID`);
      const key = place.ipfs && file.cid ? ipfsKey(file.cid) : joinKey(place.prefix, file.path);
      const parts = file.size > partSize ? Math.ceil(file.size / partSize) : 1;
      const token: UploadToken = {
        jobId: attempt.jobId,
        attemptId: attempt.attemptId,
        path: `${output.path}/${file.path}`,
        size: file.size,
        sha256: file.sha256,
        cid: file.cid ?? null,
        stored: place.target.stored(key),
        uploadId: null,
        parts,
      };
      // Content addressed: bytes already stored under this CID need not travel again.
      if (place.ipfs && (await place.target.head(key)) === file.size) {
        return { upload: await signToken(env, token), partSizeBytes: partSize };
      }
      if (parts === 1) {
        return {
          upload: await signToken(env, token),
          url: await place.target.putUrl(key, file.size, file.sha256),
          partSizeBytes: partSize,
        };
      }
      const uploadId = await startMultipart(env, place.target, key, attempt);
      const urls = await Promise.all(
        Array.from({ length: parts }, async (_, i) => ({
          partNumber: i + 1,
          url: await place.target.partUrl(key, uploadId, i + 1, partSize),
        })),
      );
      return { upload: await signToken(env, { ...token, uploadId }), parts: urls, partSizeBytes: partSize };
    }),
  );
}

/**
 * When a file uploaded at `createdAt` is swept: its output's keepForSeconds, or the deployment's
 * OUTPUT_RETENTION_SECONDS. Null for one in the user's own S3 bucket: it stays there.
 */
export function outputExpiry(
  env: Env,
  outputs: readonly JobOutput[],
  path: string,
  stored: StoredObject,
  createdAt: number,
): number | null {
  if (stored.kind !== "r2") return null;
  const output = outputs.find((o) => path.startsWith(`${o.path}/`));
  const keepMs =
    output?.keepForSeconds !== undefined ? output.keepForSeconds * 1000 : outputRetentionOf(env).retentionMs;
  return createdAt + keepMs;
}

/** Completes the uploads and lists the files as the job's outputs (a later attempt's replace them). */
export async function completeUploads(
  env: Env,
  origin: string,
  attempt: AttemptContext,
  uploads: { upload: string; parts?: CompletedPart[] | undefined }[],
): Promise<number> {
  const secrets = await openSecrets(
    env,
    attempt.accountId,
    secretNamesOf({ env: {}, outputs: attempt.spec.outputs }),
  );
  const db = drizzle(env.DB);
  let recorded = 0;
  for (const item of uploads) {
    const parsed = UploadToken.safeParse(await verifyToken(env, item.upload));
    if (
      !parsed.success ||
      parsed.data.jobId !== attempt.jobId ||
      parsed.data.attemptId !== attempt.attemptId
    ) {
      throw new MeridianError(403, "bad_upload", "this upload was not started for this attempt");
    }
    const token = parsed.data;
    const target = targetOfStored(env, origin, token.stored, secrets);
    if (token.uploadId !== null) {
      const parts = [...(item.parts ?? [])].sort((a, b) => a.partNumber - b.partNumber);
      if (parts.length !== token.parts) {
        throw new MeridianError(
          422,
          "upload_incomplete",
          `${token.path}: ${parts.length} of ${token.parts} parts sent`,
        );
      }
      await target.completeMultipart(token.stored.key, token.uploadId, parts);
      await multipartDone(env, token.uploadId);
    }
    const size = await target.head(token.stored.key);
    if (size !== token.size) {
      throw new MeridianError(
        422,
        "upload_incomplete",
        `${token.path}: stored ${size ?? "nothing"}, expected ${token.size} bytes`,
      );
    }
    const createdAt = Date.now();
    const row = {
      jobId: attempt.jobId,
      attemptId: attempt.attemptId,
      path: token.path,
      size: token.size,
      sha256: token.sha256,
      cid: token.cid,
      location: token.stored,
      createdAt,
      expiresAt: outputExpiry(env, attempt.spec.outputs ?? [], token.path, token.stored, createdAt),
    };
    // A later attempt's file at the same path replaces the earlier one: the earlier upload's time
    // is charged now, and its bytes freed where they sat under another key (an IPFS CID).
    const earlier = await db
      .select({
        path: jobOutputs.path,
        size: jobOutputs.size,
        createdAt: jobOutputs.createdAt,
        location: jobOutputs.location,
      })
      .from(jobOutputs)
      .where(and(eq(jobOutputs.jobId, attempt.jobId), eq(jobOutputs.path, token.path)))
      .get();
    const charge = earlier && (await keptCharge(env, attempt.accountId, attempt.jobId, [earlier], createdAt));
    await runBatch(db, [
      ...(charge && charge.amountMicros > 0 ? storageChargeStatements(db, charge, createdAt) : []),
      db
        .insert(jobOutputs)
        .values(row)
        .onConflictDoUpdate({ target: [jobOutputs.jobId, jobOutputs.path], set: row }),
    ]);
    if (earlier)
      await freeReplaced(env, attempt.jobId, token.path, earlier.location as StoredObject, token.stored);
    recorded++;
  }
  return recorded;
}

/** Deletes a replaced file's R2 object when the new one is elsewhere and no other output names it. */
async function freeReplaced(
  env: Env,
  jobId: string,
  path: string,
  was: StoredObject,
  now: StoredObject,
): Promise<void> {
  if (was.kind !== "r2" || (now.kind === "r2" && now.key === was.key)) return;
  await deleteR2Keys(
    env,
    await unsharedKeys(env, [was.key], (row) => row.jobId === jobId && row.path === path),
  );
}

export async function outputRows(database: D1Database, jobId: string) {
  return drizzle(database)
    .select()
    .from(jobOutputs)
    .where(and(eq(jobOutputs.jobId, jobId)))
    .orderBy(jobOutputs.path)
    .all();
}
