import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { CheckpointsDeleted } from "../../src/shared/storage/checkpoint-retention.js";
import { checkpointRetentionOf } from "../../src/shared/storage/checkpoint-retention.js";
import { sweepExpiredCheckpoints } from "../../src/worker/storage/checkpoint-sweep.js";
import {
  bucket,
  endedJob,
  listed,
  putObjects,
  s3Access,
  withS3Secret,
  withWrongSecret,
} from "./s3-bucket-support.js";
import { authed, call, expectError, signup } from "./support.js";

/** An ended job whose checkpoint is in the s3rver bucket under ckpt/<job id>/: `blobs` blobs and a manifest. */
async function s3Checkpoint(accountId: string, blobs: number, secret = "s3"): Promise<string> {
  const jobId = await endedJob(accountId, "c", {
    checkpoint: {
      path: "/meridian/checkpoint",
      intervalSeconds: 60,
      to: `s3://${bucket}/ckpt`,
      s3: s3Access(secret),
    },
  });
  const manifestKey = `ckpt/${jobId}/manifests/00000001.json`;
  await putObjects([
    ...Array.from({ length: blobs }, (_, i) => `ckpt/${jobId}/blobs/${i.toString(16).padStart(64, "0")}`),
    manifestKey,
  ]);
  await env.DB.prepare(
    "INSERT INTO job_checkpoints (job_id, seq, attempt_id, manifest_key, files, bytes, created_at) VALUES (?, 1, 'att_x', ?, ?, ?, ?)",
  )
    .bind(jobId, manifestKey, blobs, blobs * 100, Date.now())
    .run();
  return jobId;
}

async function rowsOf(jobId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM job_checkpoints WHERE job_id = ?")
    .bind(jobId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

describe("checkpoints in the user's S3 bucket (s3rver)", () => {
  it("DELETE /v1/jobs/:id/checkpoints empties the job's prefix, past one listing page (1,006 objects)", async () => {
    const { id, apiKey } = await withS3Secret();
    const jobId = await s3Checkpoint(id, 1005);
    // Neighbours that must stay: a key that only starts like the prefix, and another job's checkpoint.
    const lookalike = `ckpt/${jobId}-kept/blobs/x`;
    await putObjects([lookalike]);
    const neighbour = await s3Checkpoint(id, 2);
    expect(await listed(`ckpt/${jobId}/`)).toHaveLength(1006);

    // Someone else asking: 404, and every object is still there.
    const other = await signup();
    await expectError(
      await call(`/v1/jobs/${jobId}/checkpoints`, authed(other.apiKey, "DELETE")),
      404,
      "job_not_found",
    );
    expect(await listed(`ckpt/${jobId}/`)).toHaveLength(1006);

    const res = await call(`/v1/jobs/${jobId}/checkpoints`, authed(apiKey, "DELETE"));
    expect(res.status).toBe(200);
    const body = (await res.json()) as CheckpointsDeleted;
    // Not billed here: the bucket is the user's.
    expect(body).toMatchObject({ jobId, objects: 1006, chargedMicros: 0 });
    expect(await listed(`ckpt/${jobId}/`)).toEqual([]);
    expect(await rowsOf(jobId)).toBe(0);
    expect(await listed(`ckpt/${jobId}-kept/`)).toEqual([lookalike]);
    expect(await listed(`ckpt/${neighbour}/`)).toHaveLength(3);
    expect(await rowsOf(neighbour)).toBe(1);
  });

  it("the sweep deletes an S3 checkpoint past its retention; a bucket that refuses keeps its rows for the next try", async () => {
    const { id, apiKey } = await withS3Secret();
    await withWrongSecret(apiKey);
    const good = await s3Checkpoint(id, 3);
    const refused = await s3Checkpoint(id, 2, "wrong");
    const later = Date.now() + checkpointRetentionOf(env).retentionMs + 60_000;
    await sweepExpiredCheckpoints(env, later, 1000);
    expect(await listed(`ckpt/${good}/`)).toEqual([]);
    expect(await rowsOf(good)).toBe(0);
    expect(await listed(`ckpt/${refused}/`)).toHaveLength(3);
    expect(await rowsOf(refused)).toBe(1);
  });

  it("jobs that keep failing back off: a batch of them does not stop the sweep reaching the rest", async () => {
    const { id, apiKey } = await withS3Secret();
    await withWrongSecret(apiKey);
    const refusing: string[] = [];
    for (let i = 0; i < 4; i++) refusing.push(await s3Checkpoint(id, 1, "wrong"));
    const good = await s3Checkpoint(id, 2);
    const now = Date.now() + checkpointRetentionOf(env).retentionMs + 60_000;
    // Batches of 3 at one moment: each refusing job is tried once, then waits; the good one is reached.
    for (let pass = 0; pass < 6; pass++) await sweepExpiredCheckpoints(env, now, 3);
    expect(await listed(`ckpt/${good}/`)).toEqual([]);
    expect(await rowsOf(good)).toBe(0);
    const failures = async () =>
      (
        await env.DB.prepare(
          `SELECT item_id, attempts, retry_at FROM storage_sweep_failures WHERE kind = 'checkpoints' AND item_id IN (${refusing.map(() => "?").join(",")}) ORDER BY item_id`,
        )
          .bind(...refusing)
          .all<{ item_id: string; attempts: number; retry_at: number }>()
      ).results;
    expect((await failures()).map((f) => [f.attempts, f.retry_at])).toEqual(
      refusing.map(() => [1, now + 60_000]),
    );
    for (const jobId of refusing) expect(await rowsOf(jobId)).toBe(1);
    // A minute later they are tried again, and wait twice as long.
    for (let pass = 0; pass < 3; pass++) await sweepExpiredCheckpoints(env, now + 60_000, 3);
    expect((await failures()).map((f) => f.attempts)).toEqual(refusing.map(() => 2));
    expect((await failures()).map((f) => f.retry_at)).toEqual(refusing.map(() => now + 60_000 + 120_000));
  });
});
