import { desc, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { z } from "zod";
import { jobCheckpointBlobs, jobCheckpoints } from "../../../schema/storage.js";
import { MeridianError } from "../../shared/errors.js";
import type { JobSpec } from "../../shared/job-spec.js";
import type {
  BlobUpload,
  CheckpointManifest,
  ManifestFile,
} from "../../shared/storage/agent-storage-protocol.js";
import { checkpointGrace, intervalOf } from "./checkpoint-grace.js";
import { checkpointOffered, recordedBlobs } from "./checkpoint-orphans.js";
import type { CheckpointPlace } from "./checkpoint-place.js";
import { multipartDone, startMultipart } from "./multipart-uploads.js";
import type { CompletedPart } from "./object-target.js";
import { signToken, verifyToken } from "./signed-url.js";
import { partSizeBytes } from "./storage-config.js";

/**
 * Checkpoints are content-addressed: each file's bytes are one blob keyed by its SHA-256 (so an
 * unchanged file is never uploaded twice), and a manifest names the files. The manifest object is
 * written only once every blob it names is stored, and the D1 row after it: a row means complete.
 * The store is the platform's R2 or the user's S3 bucket (see checkpoint-place.ts).
 */
export function blobKey(place: CheckpointPlace, sha256: string): string {
  return `${place.prefix}/blobs/${sha256}`;
}

function manifestKey(place: CheckpointPlace, seq: number): string {
  return `${place.prefix}/manifests/${String(seq).padStart(8, "0")}.json`;
}

/** What a multipart blob upload's `upload` token carries, so the commit can complete it. */
export const BlobUploadToken = z.object({
  blob: z.literal(true),
  jobId: z.string(),
  key: z.string(),
  uploadId: z.string(),
  parts: z.number().int(),
});

export async function latestCheckpoint(
  env: Env,
  place: CheckpointPlace,
  jobId: string,
): Promise<{ seq: number; manifest: CheckpointManifest; bytes: number } | undefined> {
  const row = await drizzle(env.DB)
    .select()
    .from(jobCheckpoints)
    .where(eq(jobCheckpoints.jobId, jobId))
    .orderBy(desc(jobCheckpoints.seq))
    .limit(1)
    .get();
  if (!row) return undefined;
  const text = await place.target.getText(row.manifestKey);
  if (text === undefined) return undefined;
  return { seq: row.seq, manifest: JSON.parse(text) as CheckpointManifest, bytes: row.bytes };
}

/**
 * Upload URLs for the blobs not yet stored: one PUT each, or a multipart upload over the part size.
 * A stored blob no commit recorded (a failed sync's) is reused only while young enough for this
 * sync's commit to take it (checkpoint-grace.ts); an older one is sent again.
 */
export async function blobUploads(
  env: Env,
  place: CheckpointPlace,
  owner: { accountId: string; jobId: string; spec?: Pick<JobSpec, "checkpoint"> },
  blobs: { sha256: string; size: number }[],
): Promise<BlobUpload[]> {
  const { jobId } = owner;
  const { target } = place;
  const partSize = partSizeBytes(env);
  const now = Date.now();
  const interval = intervalOf(owner.spec ?? {});
  const { reuseMaxAgeMs } = checkpointGrace(env, interval);
  const unique = [...new Map(blobs.map((blob) => [blob.sha256, blob])).values()];
  const stats = await Promise.all(unique.map((blob) => target.stat(blobKey(place, blob.sha256))));
  const recorded = await recordedBlobs(
    env,
    jobId,
    unique.filter((blob, i) => stats[i]?.size === blob.size).map((blob) => blob.sha256),
  );
  const missing = unique.filter((blob, i) => {
    const stat = stats[i];
    if (stat?.size !== blob.size) return true;
    if (recorded.has(blob.sha256) || stat.uploadedMs <= 0) return false;
    return now - stat.uploadedMs > reuseMaxAgeMs;
  });
  // What these URLs put may never be committed: the orphan sweep looks after the grace.
  if (missing.length > 0) await checkpointOffered(env, jobId, interval, now);
  return Promise.all(
    missing.map(async (blob): Promise<BlobUpload> => {
      const key = blobKey(place, blob.sha256);
      // R2 checks a single PUT's bytes against the SHA-256 (an S3 URL does not carry it).
      if (blob.size <= partSize)
        return { sha256: blob.sha256, url: await target.putUrl(key, blob.size, blob.sha256) };
      const parts = Math.ceil(blob.size / partSize);
      const uploadId = await startMultipart(env, target, key, owner);
      const urls = await Promise.all(
        Array.from({ length: parts }, async (_, i) => ({
          partNumber: i + 1,
          url: await target.partUrl(key, uploadId, i + 1, partSize),
        })),
      );
      const token: z.infer<typeof BlobUploadToken> = { blob: true, jobId, key, uploadId, parts };
      return {
        sha256: blob.sha256,
        upload: await signToken(env, token),
        parts: urls,
        partSizeBytes: partSize,
      };
    }),
  );
}

/** Completes the multipart blob uploads a commit carries (each token signed here, for this job). */
async function completeBlobUploads(
  env: Env,
  place: CheckpointPlace,
  jobId: string,
  uploads: { upload: string; parts: CompletedPart[] }[],
): Promise<void> {
  for (const item of uploads) {
    const parsed = BlobUploadToken.safeParse(await verifyToken(env, item.upload));
    if (!parsed.success || parsed.data.jobId !== jobId || !parsed.data.key.startsWith(`${place.prefix}/`))
      throw new MeridianError(403, "bad_upload", "this upload was not started for this job's checkpoint");
    const parts = [...item.parts].sort((a, b) => a.partNumber - b.partNumber);
    if (parts.length !== parsed.data.parts || parts.some((part, i) => part.partNumber !== i + 1)) {
      throw new MeridianError(
        422,
        "upload_incomplete",
        `checkpoint blob upload: ${parts.length} of ${parsed.data.parts} parts sent`,
      );
    }
    await place.target.completeMultipart(parsed.data.key, parsed.data.uploadId, parts);
    await multipartDone(env, parsed.data.uploadId);
  }
}

/** Records a checkpoint whose blobs are all stored; 422 naming a missing one otherwise. */
export async function commitCheckpoint(
  env: Env,
  place: CheckpointPlace,
  commit: {
    jobId: string;
    attemptId: string;
    files: ManifestFile[];
    uploads?: { upload: string; parts: CompletedPart[] }[] | undefined;
    intervalSeconds: number;
  },
): Promise<{ seq: number; bytes: number }> {
  const { jobId, attemptId, files, intervalSeconds } = commit;
  await completeBlobUploads(env, place, jobId, commit.uploads ?? []);
  const sizes = new Map<string, number>();
  for (const file of files) sizes.set(file.sha256, file.size);
  const now = Date.now();
  const { commitMaxAgeMs } = checkpointGrace(env, intervalSeconds);
  const recorded = await recordedBlobs(env, jobId, [...sizes.keys()]);
  await Promise.all(
    [...sizes].map(async ([sha256, size]) => {
      const stored = await place.target.stat(blobKey(place, sha256));
      if (stored?.size !== size) {
        throw new MeridianError(
          422,
          "checkpoint_incomplete",
          `blob ${sha256} of the checkpoint is not stored (${stored?.size ?? "absent"})`,
        );
      }
      // Not recorded and so old the orphan sweep may be deleting it: recording it could keep a
      // checkpoint whose blob is gone.
      if (!recorded.has(sha256) && stored.uploadedMs > 0 && now - stored.uploadedMs > commitMaxAgeMs) {
        throw new MeridianError(
          422,
          "checkpoint_stale",
          `blob ${sha256} was stored ${Math.round((now - stored.uploadedMs) / 1000)} s ago, more than the ${commitMaxAgeMs / 1000} s a sync has to commit it; the next sync sends it again`,
        );
      }
    }),
  );
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  const db = drizzle(env.DB);
  await recordBlobs(db, jobId, sizes, now);
  // A manifest written and never recorded (a lost race, a crash) is an orphan too.
  await checkpointOffered(env, jobId, intervalSeconds, now);
  for (let tries = 0; tries < 5; tries++) {
    const seq = ((await latestSeq(env.DB, jobId)) ?? 0) + 1;
    const key = manifestKey(place, seq);
    const manifest: CheckpointManifest = { jobId, attemptId, seq, createdAt: Date.now(), files };
    const text = JSON.stringify(manifest);
    await place.target.putText(key, text);
    const inserted = await db
      .insert(jobCheckpoints)
      .values({
        jobId,
        seq,
        attemptId,
        manifestKey: key,
        files: files.length,
        bytes,
        manifestBytes: new TextEncoder().encode(text).length,
        createdAt: manifest.createdAt,
      })
      .onConflictDoNothing()
      .returning({ seq: jobCheckpoints.seq })
      .all();
    if (inserted.length > 0) return { seq, bytes };
  }
  throw new MeridianError(
    409,
    "checkpoint_conflict",
    "another commit of this job's checkpoint raced this one; try again",
  );
}

async function latestSeq(database: D1Database, jobId: string): Promise<number | undefined> {
  const row = await drizzle(database)
    .select({ seq: jobCheckpoints.seq })
    .from(jobCheckpoints)
    .where(eq(jobCheckpoints.jobId, jobId))
    .orderBy(desc(jobCheckpoints.seq))
    .limit(1)
    .get();
  return row?.seq;
}

/** Rows per insert: D1 binds at most 100 parameters a statement. */
const BLOBS_PER_INSERT = 20;

/**
 * Notes the blobs a commit names (each stored: the commit has just checked). Written before the
 * checkpoint's row, so a committed checkpoint's blobs are always counted; a blob two checkpoints
 * share is one row, as it is one object.
 */
async function recordBlobs(
  db: ReturnType<typeof drizzle>,
  jobId: string,
  sizes: Map<string, number>,
  at: number,
): Promise<void> {
  const rows = [...sizes].map(([sha256, size]) => ({ jobId, sha256, size, createdAt: at }));
  for (let i = 0; i < rows.length; i += BLOBS_PER_INSERT) {
    await db
      .insert(jobCheckpointBlobs)
      .values(rows.slice(i, i + BLOBS_PER_INSERT))
      .onConflictDoNothing();
  }
}

/**
 * The bytes a job's checkpoints keep stored: every distinct blob of every checkpoint still kept
 * (not only the latest: each committed checkpoint stays restorable, and its blobs stay in the
 * store until the job's checkpoints are deleted), and every kept checkpoint's manifest. What a
 * pause and the retention after the job's end are billed for. Objects no commit recorded are not
 * counted: the orphan sweep deletes them (checkpoint-orphans.ts). Checkpoints committed before
 * blobs were recorded count at least their latest checkpoint's size.
 */
export async function checkpointBytes(env: Env, jobId: string): Promise<number> {
  const db = drizzle(env.DB);
  const [blobs, latest, manifests] = await Promise.all([
    db
      .select({ bytes: sql<number>`COALESCE(SUM(${jobCheckpointBlobs.size}), 0)` })
      .from(jobCheckpointBlobs)
      .where(eq(jobCheckpointBlobs.jobId, jobId))
      .get(),
    db
      .select({ bytes: jobCheckpoints.bytes })
      .from(jobCheckpoints)
      .where(eq(jobCheckpoints.jobId, jobId))
      .orderBy(desc(jobCheckpoints.seq))
      .limit(1)
      .get(),
    db
      .select({ bytes: sql<number>`COALESCE(SUM(${jobCheckpoints.manifestBytes}), 0)` })
      .from(jobCheckpoints)
      .where(eq(jobCheckpoints.jobId, jobId))
      .get(),
  ]);
  return Math.max(Number(blobs?.bytes ?? 0), latest?.bytes ?? 0) + Number(manifests?.bytes ?? 0);
}
