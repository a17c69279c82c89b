import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { checkpointGrace } from "../../src/worker/storage/checkpoint-grace.js";
import { checkpointOffered, sweepCheckpointOrphans } from "../../src/worker/storage/checkpoint-orphans.js";
import { bucket, endedJob, listed, putObjects, s3Access, withS3Secret } from "./s3-bucket-support.js";

/**
 * The orphan sweep in the user's own bucket (s3rver): ListObjectsV2 gives each object's time, and
 * what no commit recorded goes past the grace, with the job's credentials; what one did stays.
 */
describe("orphaned checkpoint objects in the user's S3 bucket (s3rver)", () => {
  it("deletes the unrecorded blob and manifest past the grace, keeps the committed ones", async () => {
    const { id } = await withS3Secret();
    const jobId = await endedJob(id, "c", {
      checkpoint: {
        path: "/meridian/checkpoint",
        intervalSeconds: 60,
        to: `s3://${bucket}/ckpt`,
        s3: s3Access("s3"),
      },
    });
    const blob = (c: string) => `ckpt/${jobId}/blobs/${c.repeat(64)}`;
    const committed = `ckpt/${jobId}/manifests/00000001.json`;
    const lost = `ckpt/${jobId}/manifests/00000002.json`;
    await putObjects([blob("a"), blob("b"), committed, lost]);
    const now = Date.now();
    await env.DB.prepare(
      "INSERT INTO job_checkpoints (job_id, seq, attempt_id, manifest_key, files, bytes, created_at) VALUES (?, 1, 'att_x', ?, 1, 10, ?)",
    )
      .bind(jobId, committed, now)
      .run();
    await env.DB.prepare(
      "INSERT INTO job_checkpoint_blobs (job_id, sha256, size, created_at) VALUES (?, ?, 10, ?)",
    )
      .bind(jobId, "a".repeat(64), now)
      .run();
    await checkpointOffered(env, jobId, 60, now);
    const grace = checkpointGrace(env, 60);
    // Before the grace nothing goes (the look is not even due).
    expect(await sweepCheckpointOrphans(env, now + grace.graceMs - 60_000)).toMatchObject({ deleted: 0 });
    expect((await listed(`ckpt/${jobId}/`)).sort()).toEqual([blob("a"), blob("b"), committed, lost].sort());
    const result = await sweepCheckpointOrphans(env, now + grace.graceMs + grace.spanMs + 1_000);
    expect(result).toMatchObject({ deleted: 2, failed: 0 });
    expect((await listed(`ckpt/${jobId}/`)).sort()).toEqual([blob("a"), committed].sort());
  });
});
