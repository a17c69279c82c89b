import { and, eq, inArray, lte, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { checkpointOrphanChecks, jobCheckpointBlobs, jobCheckpoints } from "../../../schema/storage.js";
import { jobs } from "../../../schema/tables.js";
import { MeridianError } from "../../shared/errors.js";
import type { JobSpec } from "../../shared/job-spec.js";
import { checkpointGrace, intervalOf } from "./checkpoint-grace.js";
import { openCheckpointPlace } from "./checkpoint-place.js";
import { notBackingOff, sweepDone, sweepFailed } from "./sweep-backoff.js";

/**
 * Objects under a job's checkpoint prefix that no commit recorded: the blobs of a sync that died
 * (or was refused) before its commit, a manifest whose row was never written. They are not billed
 * (nothing restores them), so they must not stay: the cron deletes each once it is older than the
 * grace (checkpoint-grace.ts), while the job still lives. Which jobs to look at is kept in D1
 * (checkpoint_orphan_checks): a row is due one grace and one sync span after the first URLs handed
 * out since the last look, so a job syncing every few minutes is listed about once a grace.
 */

/** Ids per `IN (…)`: D1 binds at most 100 parameters a statement. */
const IDS_PER_QUERY = 90;

/** URLs for the job's checkpoint were handed out (or a manifest is about to be written) at `now`. */
export async function checkpointOffered(env: Env, jobId: string, intervalSeconds: number, now: number) {
  const grace = checkpointGrace(env, intervalSeconds);
  const due = now + grace.graceMs + grace.spanMs;
  await drizzle(env.DB)
    .insert(checkpointOrphanChecks)
    .values({ jobId, dueAt: due, offeredAt: now })
    .onConflictDoUpdate({
      target: checkpointOrphanChecks.jobId,
      set: {
        dueAt: sql`MIN(${checkpointOrphanChecks.dueAt}, ${due})`,
        offeredAt: sql`MAX(${checkpointOrphanChecks.offeredAt}, ${now})`,
      },
    });
}

/** Of these blobs, those a commit recorded for the job (so the sweep never deletes them). */
export async function recordedBlobs(env: Env, jobId: string, shas: readonly string[]): Promise<Set<string>> {
  const db = drizzle(env.DB);
  const recorded = new Set<string>();
  for (let at = 0; at < shas.length; at += IDS_PER_QUERY) {
    const rows = await db
      .select({ sha256: jobCheckpointBlobs.sha256 })
      .from(jobCheckpointBlobs)
      .where(
        and(
          eq(jobCheckpointBlobs.jobId, jobId),
          inArray(jobCheckpointBlobs.sha256, shas.slice(at, at + IDS_PER_QUERY)),
        ),
      )
      .all();
    for (const row of rows) recorded.add(row.sha256);
  }
  return recorded;
}

/** What one job's look found: objects deleted, and the time the next look is due (none: the row goes). */
interface Looked {
  deleted: number;
  nextDue: number | undefined;
}

async function lookAtJob(
  env: Env,
  job: { jobId: string; accountId: string; spec: JobSpec; offeredAt: number },
  now: number,
): Promise<Looked> {
  const grace = checkpointGrace(env, intervalOf(job.spec));
  // The origin only makes URLs, and none are made here.
  const place = await openCheckpointPlace(env, "https://sweep.invalid", job);
  const db = drizzle(env.DB);
  const manifests = new Set(
    (
      await db
        .select({ key: jobCheckpoints.manifestKey })
        .from(jobCheckpoints)
        .where(eq(jobCheckpoints.jobId, job.jobId))
        .all()
    ).map((row) => row.key),
  );
  let deleted = 0;
  let youngest: number | undefined;
  let cursor: string | undefined;
  do {
    const page = await place.target.listPage(`${place.prefix}/`, cursor);
    cursor = page.cursor;
    const blobs = page.objects.filter((o) => o.key.startsWith(`${place.prefix}/blobs/`));
    const recorded = await recordedBlobs(
      env,
      job.jobId,
      blobs.map((o) => o.key.slice(`${place.prefix}/blobs/`.length)),
    );
    const orphans: string[] = [];
    for (const object of page.objects) {
      const rest = object.key.slice(place.prefix.length + 1);
      const kept = rest.startsWith("blobs/")
        ? recorded.has(rest.slice("blobs/".length))
        : !rest.startsWith("manifests/") || manifests.has(object.key);
      // A store that gave no time (uploadedMs 0) is never guessed at: the object stays.
      if (kept || object.uploadedMs <= 0) continue;
      if (object.uploadedMs < now - grace.graceMs) orphans.push(object.key);
      else youngest = Math.min(youngest ?? object.uploadedMs, object.uploadedMs);
    }
    if (orphans.length > 0) await place.target.deleteKeys(orphans);
    deleted += orphans.length;
  } while (cursor);
  // An upload on a URL handed out lately may still land: look again once it could be an orphan.
  const candidates = [
    ...(youngest === undefined ? [] : [youngest + grace.graceMs]),
    ...(job.offeredAt + grace.graceMs + grace.spanMs > now
      ? [job.offeredAt + grace.graceMs + grace.spanMs]
      : []),
  ];
  return { deleted, nextDue: candidates.length > 0 ? Math.min(...candidates) : undefined };
}

/** Failures no later try can mend: the credentials of the user's bucket are gone or unusable. */
const HOPELESS = new Set(["secret_not_found", "bad_credentials_secret", "invalid_checkpoint"]);

/**
 * The cron's pass: each job whose look is due has its unrecorded checkpoint objects older than the
 * grace deleted (R2, or the user's bucket with the job's credentials). A store that fails waits out
 * the sweeps' backoff; a job gone, or a bucket whose credentials are gone, is forgotten.
 */
export async function sweepCheckpointOrphans(
  env: Env,
  now = Date.now(),
  limit = 20,
): Promise<{ jobs: number; deleted: number; failed: number }> {
  const db = drizzle(env.DB);
  const due = await db
    .select({
      jobId: checkpointOrphanChecks.jobId,
      offeredAt: checkpointOrphanChecks.offeredAt,
      accountId: jobs.accountId,
      spec: jobs.spec,
    })
    .from(checkpointOrphanChecks)
    .leftJoin(jobs, eq(jobs.id, checkpointOrphanChecks.jobId))
    .where(
      and(
        lte(checkpointOrphanChecks.dueAt, now),
        notBackingOff("orphans", checkpointOrphanChecks.jobId, now),
      ),
    )
    .orderBy(checkpointOrphanChecks.dueAt)
    .limit(limit)
    .all();
  let looked = 0;
  let deleted = 0;
  let failed = 0;
  for (const row of due) {
    // The row is rewritten only if no URL was handed out meanwhile (else it stays due: looked at again).
    const same = and(
      eq(checkpointOrphanChecks.jobId, row.jobId),
      eq(checkpointOrphanChecks.offeredAt, row.offeredAt),
    );
    let next: number | undefined;
    try {
      if (row.accountId !== null && row.spec !== null) {
        const found = await lookAtJob(
          env,
          { jobId: row.jobId, accountId: row.accountId, spec: row.spec as JobSpec, offeredAt: row.offeredAt },
          now,
        );
        deleted += found.deleted;
        next = found.nextDue;
      }
      looked++;
    } catch (error) {
      if (!(error instanceof MeridianError && HOPELESS.has(error.code))) {
        failed++;
        await sweepFailed(env, "orphans", row.jobId, error, now);
        continue;
      }
    }
    await sweepDone(env, "orphans", row.jobId);
    if (next === undefined) await db.delete(checkpointOrphanChecks).where(same);
    else await db.update(checkpointOrphanChecks).set({ dueAt: next }).where(same);
  }
  return { jobs: looked, deleted, failed };
}

/** The job's checkpoints are gone: nothing is left to look at. */
export function forgetOrphanCheck(db: ReturnType<typeof drizzle>, jobId: string) {
  return db.delete(checkpointOrphanChecks).where(eq(checkpointOrphanChecks.jobId, jobId));
}
