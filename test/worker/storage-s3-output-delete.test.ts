import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { OutputsDeleted } from "../../src/shared/storage/output-delete-api.js";
import {
  bucket,
  endedJob,
  exists,
  putObjects,
  s3Access,
  withS3Secret,
  withWrongSecret,
} from "./s3-bucket-support.js";
import { authed, call, expectError, signup } from "./support.js";

/** A succeeded job whose output files went to s3rver under results/<job id>/, with `secret` as credentials. */
async function s3Outputs(
  accountId: string,
  files: string[],
  secret = "s3",
  keyOf = (jobId: string, f: string) => `results/${jobId}/${f}`,
) {
  const jobId = await endedJob(accountId, "o", {
    outputs: [{ path: "/outputs", to: `s3://${bucket}/results`, s3: s3Access(secret) }],
  });
  const now = Date.now();
  const keys: string[] = [];
  for (const file of files) {
    const key = keyOf(jobId, file);
    keys.push(key);
    await putObjects([key]);
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

    await withWrongSecret(apiKey);
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
