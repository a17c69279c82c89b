import { and, eq, lte } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { storageUploads } from "../../../schema/storage.js";
import { MeridianError } from "../../shared/errors.js";
import type { ObjectTarget, StoredObject } from "./object-target.js";
import { openSecrets } from "./secret-store.js";
import { urlTtlMs } from "./signed-url.js";
import { notBackingOff, sweepDone, sweepFailed } from "./sweep-backoff.js";
import { targetOfStored } from "./targets.js";

/**
 * Multipart uploads are recorded from the moment they start until they complete, because neither
 * store cleans up after an agent that died mid-upload or a job that ended first: the parts already
 * sent stay (and are paid for) until the upload is aborted. R2's binding cannot list open uploads,
 * so D1 is the list.
 */

/** After its part URLs expired (STORAGE_URL_TTL_SECONDS), an upload gets this long to be completed. */
const COMPLETE_GRACE_MS = 15 * 60 * 1000;

/** Failures no later sweep can mend: the credentials of the user's bucket are gone or unusable. */
const HOPELESS = new Set(["secret_not_found", "bad_credentials_secret"]);

/** Starts a multipart upload of `key` and records it for the job. */
export async function startMultipart(
  env: Env,
  target: ObjectTarget,
  key: string,
  owner: { accountId: string; jobId: string },
): Promise<string> {
  const uploadId = await target.createMultipart(key);
  const now = Date.now();
  await drizzle(env.DB)
    .insert(storageUploads)
    .values({
      uploadId,
      location: target.stored(key),
      accountId: owner.accountId,
      jobId: owner.jobId,
      createdAt: now,
      urlsIssuedAt: now,
    })
    .onConflictDoNothing();
  return uploadId;
}

/** The upload completed: nothing is left to abort. */
export async function multipartDone(env: Env, uploadId: string): Promise<void> {
  await drizzle(env.DB).delete(storageUploads).where(eq(storageUploads.uploadId, uploadId));
}

/** Fresh part URLs were issued for an open upload: its abort waits for them to expire too. */
export async function multipartRenewed(env: Env, uploadId: string, now: number): Promise<void> {
  await drizzle(env.DB)
    .update(storageUploads)
    .set({ urlsIssuedAt: now })
    .where(eq(storageUploads.uploadId, uploadId));
}

/**
 * The cron's pass over uploads left open: once no part URL of one can still be valid (and the
 * grace for its completion is over), nobody can finish it, so it is aborted in its store (R2, or
 * the user's S3 bucket with the credentials the job named) and its parts are freed. A store that
 * fails is tried again after a backoff (sweep-backoff.ts); one whose credentials are gone is forgotten.
 */
export async function abortAbandonedUploads(
  env: Env,
  now = Date.now(),
  limit = 50,
): Promise<{ aborted: number; forgotten: number; failed: number }> {
  const db = drizzle(env.DB);
  const cutoff = now - urlTtlMs(env) - COMPLETE_GRACE_MS;
  const stale = await db
    .select()
    .from(storageUploads)
    .where(
      and(lte(storageUploads.urlsIssuedAt, cutoff), notBackingOff("upload", storageUploads.uploadId, now)),
    )
    .orderBy(storageUploads.urlsIssuedAt)
    .limit(limit)
    .all();
  let aborted = 0;
  let forgotten = 0;
  let failed = 0;
  for (const row of stale) {
    const location = row.location as StoredObject;
    try {
      const names = location.kind === "s3" ? [location.credentials] : [];
      const secrets = await openSecrets(env, row.accountId, names);
      // The origin only makes URLs, and none are made here.
      await targetOfStored(env, "https://sweep.invalid", location, secrets).abortMultipart(
        location.key,
        row.uploadId,
      );
      aborted++;
    } catch (error) {
      if (!(error instanceof MeridianError && HOPELESS.has(error.code))) {
        failed++;
        await sweepFailed(env, "upload", row.uploadId, error, now);
        continue;
      }
      forgotten++;
    }
    await multipartDone(env, row.uploadId);
    await sweepDone(env, "upload", row.uploadId);
  }
  return { aborted, forgotten, failed };
}
