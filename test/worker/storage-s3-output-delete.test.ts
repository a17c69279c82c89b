import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/shared/ids.js";
import type { OutputsDeleted } from "../../src/shared/storage/output-delete-api.js";
import { authed, call, expectError, jsonInit, signup } from "./support.js";

/** s3rver (test/support/worker-s3.ts) as the user's bucket, reached as a user's own tools would. */
const bucket = env.TEST_S3_BUCKET;
const s3 = new AwsClient({ ...JSON.parse(env.TEST_S3_CREDENTIALS), service: "s3", region: "us-east-1" });
const objectUrl = (key: string) => `${env.TEST_S3_ENDPOINT}/${bucket}/${key}`;

async function put(key: string): Promise<void> {
  const res = await s3.fetch(objectUrl(key), { method: "PUT", body: `bytes of ${key}` });
  await res.body?.cancel();
  if (!res.ok) throw new Error(`PUT ${key}: ${res.status}`);
}

async function exists(key: string): Promise<boolean> {
  const res = await s3.fetch(objectUrl(key), { method: "HEAD" });
  await res.body?.cancel();
  return res.ok;
}

/** A succeeded job whose output files went to s3rver under results/<job id>/, with `secret` as credentials. */
async function s3Outputs(
  accountId: string,
  files: string[],
  secret = "s3",
  keyOf = (jobId: string, f: string) => `results/${jobId}/${f}`,
) {
  const jobId = newId("job");
  const now = Date.now();
  const s3Access = { endpoint: env.TEST_S3_ENDPOINT, region: "us-east-1", credentials: { secret } };
  const spec = {
    name: "o",
    image: "meridian/busybox:test",
    command: ["true"],
    env: {},
    outputs: [{ path: "/outputs", to: `s3://${bucket}/results`, s3: s3Access }],
  };
  await env.DB.prepare(
    `INSERT INTO jobs (id, account_id, name, region, image, spec, status, reason, created_at, ended_at, updated_at)
     VALUES (?, ?, 'o', 'eu-west', 'meridian/busybox:test', ?, 'succeeded', 'exited 0', ?, ?, ?)`,
  )
    .bind(jobId, accountId, JSON.stringify(spec), now - 60_000, now - 1_000, now)
    .run();
  const keys: string[] = [];
  for (const file of files) {
    const key = keyOf(jobId, file);
    keys.push(key);
    await put(key);
    const location = {
      kind: "s3",
      endpoint: env.TEST_S3_ENDPOINT,
      region: "us-east-1",
      bucket,
      key,
      credentials: secret,
    };
    await env.DB.prepare(
      "INSERT INTO job_outputs (job_id, attempt_id, path, size, sha256, cid, location, created_at, expires_at) VALUES (?, 'att_x', ?, 10, ?, NULL, ?, ?, NULL)",
    )
      .bind(jobId, `/outputs/${file}`, "0".repeat(64), JSON.stringify(location), now - 1_000)
      .run();
  }
  return { jobId, keys };
}

async function listedPaths(jobId: string): Promise<string[]> {
  const { results } = await env.DB.prepare("SELECT path FROM job_outputs WHERE job_id = ? ORDER BY path")
    .bind(jobId)
    .all<{ path: string }>();
  return results.map((r) => r.path);
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

describe("DELETE /v1/jobs/:id/outputs of files in the user's S3 bucket (s3rver)", () => {
  it("deletes them in the bucket: one by path, then the rest; a key another job lists stays", async () => {
    const { id, apiKey } = await withS3Secret();
    const { jobId, keys } = await s3Outputs(id, ["a.bin", "b.bin", "c.bin"]);
    // Another job of the account lists the same object as c.bin: it must stay for that job.
    const sharedKey = keys[2] ?? "";
    const other = await s3Outputs(id, ["c.bin"], "s3", () => sharedKey);

    const one = await call(`/v1/jobs/${jobId}/outputs?path=/outputs/a.bin`, authed(apiKey, "DELETE"));
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({
      files: 1,
      objects: 0,
      deletedInYourBucket: 1,
      keptInYourBucket: 0,
      chargedMicros: 0,
    });
    expect(await exists(keys[0] ?? "")).toBe(false);
    expect(await exists(keys[1] ?? "")).toBe(true);
    expect(await listedPaths(jobId)).toEqual(["/outputs/b.bin", "/outputs/c.bin"]);

    const rest = await call(`/v1/jobs/${jobId}/outputs`, authed(apiKey, "DELETE"));
    expect(rest.status).toBe(200);
    const body = (await rest.json()) as OutputsDeleted;
    expect(body).toMatchObject({ files: 2, deletedInYourBucket: 1, keptInYourBucket: 1, chargedMicros: 0 });
    expect(await exists(keys[1] ?? "")).toBe(false);
    expect(await exists(sharedKey)).toBe(true);
    expect(await listedPaths(jobId)).toEqual([]);
    expect(await listedPaths(other.jobId)).toEqual(["/outputs/c.bin"]);
  });

  it("without its credentials secret, or with credentials the bucket refuses: 422, nothing deleted or unlisted", async () => {
    const { id, apiKey } = await withS3Secret();
    const gone = await s3Outputs(id, ["x.bin"], "deleted-secret");
    await expectError(
      await call(`/v1/jobs/${gone.jobId}/outputs`, authed(apiKey, "DELETE")),
      422,
      "secret_not_found",
    );
    expect(await exists(gone.keys[0] ?? "")).toBe(true);
    expect(await listedPaths(gone.jobId)).toEqual(["/outputs/x.bin"]);

    const wrong = JSON.stringify({ accessKeyId: "NOT-S3RVER", secretAccessKey: "wrong" });
    expect(
      (await call("/v1/secrets", jsonInit("POST", { name: "wrong", value: wrong }, apiKey))).status,
    ).toBe(201);
    const refused = await s3Outputs(id, ["y.bin"], "wrong");
    await expectError(
      await call(`/v1/jobs/${refused.jobId}/outputs`, authed(apiKey, "DELETE")),
      422,
      "storage_refused",
    );
    expect(await exists(refused.keys[0] ?? "")).toBe(true);
    expect(await listedPaths(refused.jobId)).toEqual(["/outputs/y.bin"]);
    const audits = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_events WHERE account_id = ? AND action = 'outputs.deleted'",
    )
      .bind(id)
      .first<{ n: number }>();
    expect(audits?.n).toBe(0);

    // Someone else's delete: 404, the object stays.
    const stranger = await signup();
    await expectError(
      await call(`/v1/jobs/${gone.jobId}/outputs`, authed(stranger.apiKey, "DELETE")),
      404,
      "job_not_found",
    );
    expect(await exists(gone.keys[0] ?? "")).toBe(true);
  });
});
