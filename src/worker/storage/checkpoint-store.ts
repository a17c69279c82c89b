import { desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobCheckpoints } from "../../../schema/storage.js";
import { MeridianError } from "../../shared/errors.js";
import type { CheckpointManifest, ManifestFile } from "../../shared/storage/agent-storage-protocol.js";
import { R2Target } from "./r2-target.js";

/**
 * Checkpoints are content-addressed: each file's bytes are one blob keyed by its SHA-256 (so an
 * unchanged file is never uploaded twice), and a manifest names the files. The manifest object is
 * written only once every blob it names is stored, and the D1 row after it: a row means complete.
 */
export function blobKey(jobId: string, sha256: string): string {
  return `checkpoints/${jobId}/blobs/${sha256}`;
}

function manifestKey(jobId: string, seq: number): string {
  return `checkpoints/${jobId}/manifests/${String(seq).padStart(8, "0")}.json`;
}

export async function latestCheckpoint(
  env: Env,
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
  const object = await env.STORAGE.get(row.manifestKey);
  if (!object) return undefined;
  return { seq: row.seq, manifest: await object.json<CheckpointManifest>(), bytes: row.bytes };
}

/** PUT URLs for the blobs not yet stored. */
export async function blobUploads(
  env: Env,
  origin: string,
  jobId: string,
  blobs: { sha256: string; size: number }[],
): Promise<{ sha256: string; url: string }[]> {
  const r2 = new R2Target(env, origin);
  const unique = [...new Map(blobs.map((blob) => [blob.sha256, blob])).values()];
  const missing = await Promise.all(
    unique.map(async (blob) =>
      (await r2.head(blobKey(jobId, blob.sha256))) === blob.size ? undefined : blob,
    ),
  );
  return Promise.all(
    missing
      .filter((blob): blob is { sha256: string; size: number } => blob !== undefined)
      .map(async (blob) => ({
        sha256: blob.sha256,
        url: await r2.putUrl(blobKey(jobId, blob.sha256), blob.size),
      })),
  );
}

/** Records a checkpoint whose blobs are all stored; 422 naming a missing one otherwise. */
export async function commitCheckpoint(
  env: Env,
  jobId: string,
  attemptId: string,
  files: ManifestFile[],
): Promise<{ seq: number; bytes: number }> {
  const sizes = new Map<string, number>();
  for (const file of files) sizes.set(file.sha256, file.size);
  await Promise.all(
    [...sizes].map(async ([sha256, size]) => {
      const stored = (await env.STORAGE.head(blobKey(jobId, sha256)))?.size;
      if (stored !== size) {
        throw new MeridianError(
          422,
          "checkpoint_incomplete",
          `blob ${sha256} of the checkpoint is not stored (${stored ?? "absent"})`,
        );
      }
    }),
  );
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  const db = drizzle(env.DB);
  for (let tries = 0; tries < 5; tries++) {
    const seq = ((await latestSeq(env.DB, jobId)) ?? 0) + 1;
    const key = manifestKey(jobId, seq);
    const manifest: CheckpointManifest = { jobId, attemptId, seq, createdAt: Date.now(), files };
    await env.STORAGE.put(key, JSON.stringify(manifest), {
      httpMetadata: { contentType: "application/json" },
    });
    const inserted = await db
      .insert(jobCheckpoints)
      .values({
        jobId,
        seq,
        attemptId,
        manifestKey: key,
        files: files.length,
        bytes,
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

/** Bytes of the latest checkpoint of each job (what a paused job keeps stored). */
export async function checkpointBytes(env: Env, jobId: string): Promise<number> {
  const latest = await drizzle(env.DB)
    .select({ bytes: jobCheckpoints.bytes })
    .from(jobCheckpoints)
    .where(eq(jobCheckpoints.jobId, jobId))
    .orderBy(desc(jobCheckpoints.seq))
    .limit(1)
    .get();
  return latest?.bytes ?? 0;
}
