import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/shared/ids.js";
import type { CheckpointsDeleted } from "../../src/shared/storage/checkpoint-retention.js";
import { checkpointRetentionOf } from "../../src/shared/storage/checkpoint-retention.js";
import { sweepExpiredCheckpoints } from "../../src/worker/storage/checkpoint-sweep.js";
import { authed, call, expectError, jsonInit, signup } from "./support.js";

/** s3rver (test/support/worker-s3.ts) as the user's bucket, reached as a user's own tools would. */
const bucket = env.TEST_S3_BUCKET;
const s3 = new AwsClient({ ...JSON.parse(env.TEST_S3_CREDENTIALS), service: "s3", region: "us-east-1" });
const objectUrl = (key: string) => `${env.TEST_S3_ENDPOINT}/${bucket}/${key}`;

async function put(keys: readonly string[]): Promise<void> {
  for (let at = 0; at < keys.length; at += 25) {
    await Promise.all(
      keys.slice(at, at + 25).map(async (key) => {
        const res = await s3.fetch(objectUrl(key), { method: "PUT", body: `bytes of ${key}` });
        await res.body?.cancel();
        if (!res.ok) throw new Error(`PUT ${key}: ${res.status}`);
      }),
    );
  }
}

/** Every key under `prefix`, listed page by page by the emulator itself. */
async function listed(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const url = new URL(`${env.TEST_S3_ENDPOINT}/${bucket}`);
    url.searchParams.set("list-type", "2");
    url.searchParams.set("prefix", prefix);
    if (token) url.searchParams.set("continuation-token", token);
    const res = await s3.fetch(url.toString());
    const text = await res.text();
    if (!res.ok) throw new Error(`list ${prefix}: ${res.status} ${text.slice(0, 200)}`);
    keys.push(...[...text.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1] ?? ""));
    token = /<NextContinuationToken>([^<]+)</.exec(text)?.[1];
  } while (token);
  return keys;
}

/** An ended job whose checkpoint is in the s3rver bucket under ckpt/<job id>/: `blobs` blobs and a manifest. */
async function s3Checkpoint(accountId: string, blobs: number, secret = "s3"): Promise<string> {
  const jobId = newId("job");
  const now = Date.now();
  const spec = {
    name: "c",
    image: "meridian/busybox:test",
    command: ["true"],
    env: {},
    checkpoint: {
      path: "/meridian/checkpoint",
      intervalSeconds: 60,
      to: `s3://${bucket}/ckpt`,
      s3: { endpoint: env.TEST_S3_ENDPOINT, region: "us-east-1", credentials: { secret } },
    },
  };
  await env.DB.prepare(
    `INSERT INTO jobs (id, account_id, name, region, image, spec, status, reason, created_at, ended_at, updated_at)
     VALUES (?, ?, 'c', 'eu-west', 'meridian/busybox:test', ?, 'succeeded', 'exited 0', ?, ?, ?)`,
  )
    .bind(jobId, accountId, JSON.stringify(spec), now - 60_000, now - 1_000, now)
    .run();
  const manifestKey = `ckpt/${jobId}/manifests/00000001.json`;
  await put([
    ...Array.from({ length: blobs }, (_, i) => `ckpt/${jobId}/blobs/${i.toString(16).padStart(64, "0")}`),
    manifestKey,
  ]);
  await env.DB.prepare(
    "INSERT INTO job_checkpoints (job_id, seq, attempt_id, manifest_key, files, bytes, created_at) VALUES (?, 1, 'att_x', ?, ?, ?, ?)",
  )
    .bind(jobId, manifestKey, blobs, blobs * 100, now)
    .run();
  return jobId;
}

async function rowsOf(jobId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM job_checkpoints WHERE job_id = ?")
    .bind(jobId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

async function withS3Secret(): Promise<{ id: string; apiKey: string }> {
  const user = await signup();
  const res = await call(
    "/v1/secrets",
    jsonInit("POST", { name: "s3", value: env.TEST_S3_CREDENTIALS }, user.apiKey),
  );
  expect(res.status).toBe(201);
  return user;
}

describe("checkpoints in the user's S3 bucket (s3rver)", () => {
  it("DELETE /v1/jobs/:id/checkpoints empties the job's prefix, past one listing page (1,006 objects)", async () => {
    const { id, apiKey } = await withS3Secret();
    const jobId = await s3Checkpoint(id, 1005);
    // Neighbours that must stay: a key that only starts like the prefix, and another job's checkpoint.
    const lookalike = `ckpt/${jobId}-kept/blobs/x`;
    await put([lookalike]);
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
    // Keys the emulator does not know: it refuses every call signed with them.
    const wrong = JSON.stringify({ accessKeyId: "NOT-S3RVER", secretAccessKey: "wrong" });
    expect(
      (await call("/v1/secrets", jsonInit("POST", { name: "wrong", value: wrong }, apiKey))).status,
    ).toBe(201);
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
    const wrong = JSON.stringify({ accessKeyId: "NOT-S3RVER", secretAccessKey: "wrong" });
    const made = await call("/v1/secrets", jsonInit("POST", { name: "wrong", value: wrong }, apiKey));
    expect(made.status).toBe(201);
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
