import { urlTtlMs } from "./signed-url.js";

/**
 * How long an object under a job's checkpoint prefix that no commit recorded (a blob a sync
 * uploaded, a manifest written) is left alone before the cron deletes it as an orphan, and the two
 * rules that keep that deletion from ever breaking a sync still in flight. With T the presigned
 * URLs' lifetime (STORAGE_URL_TTL_SECONDS) and I the job's checkpoint interval:
 *
 * - a sync uploads its blobs on URLs valid for T; one that outlives them asks again and gets fresh
 *   ones, so a sync commits within `span` = 2T of its blobs' uploads (the URLs' lifetime, and as
 *   long again for a renewal round and the last PUT in flight);
 * - the next sync, I later, reuses what a failed sync left (a blob the store has is not sent again);
 * - a commit takes at most `margin` = T from checking its blobs to recording them.
 *
 * Grace = I + 2·span + margin (I + 5T: 80 min at I = 300 s and T = 900 s). A commit refuses an
 * unrecorded blob older than grace − margin (so a blob it records is never one the sweep may be
 * deleting), and the blobs call hands a fresh URL for an unrecorded blob older than
 * grace − margin − span instead of reusing it (so a sync never leans on one that would be refused
 * by its commit). A sync whose blobs take longer than I + 4T to upload is refused at its commit;
 * the next sync uploads the stale blobs again.
 */
export interface CheckpointGrace {
  /** Unrecorded objects older than this are orphans. */
  graceMs: number;
  /** A commit refuses an unrecorded blob older than this. */
  commitMaxAgeMs: number;
  /** The blobs call reuses an unrecorded stored blob only up to this age. */
  reuseMaxAgeMs: number;
  /** How long after the latest URL handed out an upload may still land. */
  spanMs: number;
}

export function checkpointGrace(env: Env, intervalSeconds: number): CheckpointGrace {
  const ttl = urlTtlMs(env);
  const span = 2 * ttl;
  const margin = ttl;
  const graceMs = intervalSeconds * 1000 + 2 * span + margin;
  return {
    graceMs,
    commitMaxAgeMs: graceMs - margin,
    reuseMaxAgeMs: graceMs - margin - span,
    spanMs: span,
  };
}

/** The job's interval, or the shortest allowed (a spec without a checkpoint has no syncs to wait for). */
export function intervalOf(spec: { checkpoint?: { intervalSeconds: number } | undefined }): number {
  return spec.checkpoint?.intervalSeconds ?? 10;
}
