import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { afterEach, describe, expect, it } from "vitest";
import type { BlobUpload } from "../../src/shared/storage/agent-storage-protocol.js";
import { abortAbandonedUploads } from "../../src/worker/storage/multipart-uploads.js";
import { urlTtlMs } from "../../src/worker/storage/signed-url.js";
import { placed, sha256Hex } from "./storage-support.js";
import { call, drainAgents, jsonInit, signup } from "./support.js";

/**
 * The sweep's abort of an abandoned multipart upload in the user's S3 bucket, end to end against
 * s3rver with the AbortMultipartUpload handler test/support/s3rver-process.mjs adds (s3rver 3.7.1
 * lacks it): the aborted upload's parts are gone (completing it fails), a live one completes.
 */
const PART = 5 * 1024 * 1024;
const ABANDONED_AFTER_MS = urlTtlMs(env) + 15 * 60 * 1000 + 1_000;

const s3 = () =>
  new AwsClient({ ...JSON.parse(env.TEST_S3_CREDENTIALS), service: "s3", region: "us-east-1" });

function completeXml(parts: { partNumber: number; etag: string }[]): string {
  const body = parts.map(
    (p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${p.etag}</ETag></Part>`,
  );
  return `<CompleteMultipartUpload>${body.join("")}</CompleteMultipartUpload>`;
}

describe("aborting an abandoned multipart upload in an S3 bucket (s3rver)", () => {
  afterEach(drainAgents);

  it("the sweep aborts it in the bucket, its parts go; an upload still open is kept and completes", async () => {
    const { apiKey } = await signup();
    expect(
      (await call("/v1/secrets", jsonInit("POST", { name: "s3", value: env.TEST_S3_CREDENTIALS }, apiKey)))
        .status,
    ).toBe(201);
    const attempt = await placed(apiKey, {
      checkpoint: {
        intervalSeconds: 10,
        to: `s3://${env.TEST_S3_BUCKET}/abort`,
        s3: { endpoint: env.TEST_S3_ENDPOINT, credentials: { secret: "s3" } },
      },
    });
    const blobs = [new Uint8Array(PART + 10).fill(1), new Uint8Array(PART + 20).fill(2)];
    const named = await Promise.all(blobs.map(async (b) => ({ sha256: await sha256Hex(b), size: b.length })));
    const { uploads } = await attempt.send<{ uploads: BlobUpload[] }>("checkpoint/blobs", { blobs: named });
    const plans = named.map((blob) => uploads.find((u) => u.sha256 === blob.sha256));
    const etags: string[] = [];
    for (const [i, plan] of plans.entries()) {
      const res = await fetch(plan?.parts?.[0]?.url ?? "", { method: "PUT", body: blobs[i]?.slice(0, PART) });
      await res.body?.cancel();
      expect(res.status).toBe(200);
      etags.push(res.headers.get("etag") ?? "");
    }
    const rows = await env.DB.prepare(
      "SELECT upload_id, location FROM storage_uploads WHERE job_id = ? ORDER BY created_at",
    )
      .bind(attempt.job.id)
      .all<{ upload_id: string; location: string }>();
    expect(rows.results).toHaveLength(2);
    const keyOf = (i: number) => `abort/${attempt.job.id}/blobs/${named[i]?.sha256}`;
    const idOf = async (i: number) =>
      (
        await env.DB.prepare(
          "SELECT upload_id FROM storage_uploads WHERE job_id = ? AND json_extract(location, '$.key') = ?",
        )
          .bind(attempt.job.id, keyOf(i))
          .first<{ upload_id: string }>()
      )?.upload_id ?? "";
    const [abandoned, live] = [await idOf(0), await idOf(1)];
    // The first as if its URLs expired long ago: nobody can finish it.
    const longAgo = Date.now() - ABANDONED_AFTER_MS;
    await env.DB.prepare("UPDATE storage_uploads SET created_at = ?, urls_issued_at = ? WHERE upload_id = ?")
      .bind(longAgo, longAgo, abandoned)
      .run();

    const swept = await abortAbandonedUploads(env);
    expect(swept.failed).toBe(0);
    const left = await env.DB.prepare("SELECT upload_id FROM storage_uploads WHERE job_id = ?")
      .bind(attempt.job.id)
      .all<{ upload_id: string }>();
    expect(left.results.map((r) => r.upload_id)).toEqual([live]);
    const failures = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM storage_sweep_failures WHERE item_id = ?",
    )
      .bind(abandoned)
      .first<{ n: number }>();
    expect(failures?.n).toBe(0);

    const base = `${env.TEST_S3_ENDPOINT}/${env.TEST_S3_BUCKET}`;
    // Aborted in the bucket: its parts are gone, so it cannot be completed, and no object appears.
    const complete = (i: number, uploadId: string) =>
      s3().fetch(`${base}/${keyOf(i)}?uploadId=${uploadId}`, {
        method: "POST",
        body: completeXml([{ partNumber: 1, etag: etags[i] ?? "" }]),
      });
    const late = await complete(0, abandoned);
    expect(late.status).not.toBe(200);
    await late.body?.cancel();
    const head = await s3().fetch(`${base}/${keyOf(0)}`, { method: "HEAD" });
    expect(head.status).toBe(404);
    // Aborting it again: 404 NoSuchUpload (the target takes that as done).
    const again = await s3().fetch(`${base}/${keyOf(0)}?uploadId=${abandoned}`, { method: "DELETE" });
    expect(again.status).toBe(404);
    expect(await again.text()).toContain("NoSuchUpload");
    // The live upload's part is still there: completing it stores the object.
    const done = await complete(1, live);
    expect(done.status).toBe(200);
    await done.body?.cancel();
    const stored = await s3().fetch(`${base}/${keyOf(1)}`);
    expect(stored.status).toBe(200);
    expect((await stored.arrayBuffer()).byteLength).toBe(PART);
  }, 60_000);
});
