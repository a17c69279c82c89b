import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { afterEach, describe, expect, it } from "vitest";
import type {
  BlobUpload,
  UploadPlan,
  UploadUrlsResponse,
} from "../../src/shared/storage/agent-storage-protocol.js";
import { abortAbandonedUploads } from "../../src/worker/storage/multipart-uploads.js";
import { urlTtlMs } from "../../src/worker/storage/signed-url.js";
import { fetchUrl, placed, putParts, sha256Hex } from "./storage-support.js";
import { authed, call, drainAgents, jsonInit, signup } from "./support.js";

/** Past every part URL's expiry and the grace for completing: what the sweep calls abandoned. */
const ABANDONED_AFTER_MS = urlTtlMs(env) + 15 * 60 * 1000 + 1_000;

const PART = 5 * 1024 * 1024;
const bytesOf = (size: number, seed: number) => new Uint8Array(size).map((_, i) => (i * seed) % 251);

/** The grant an R2 URL of this Worker carries (its expiry, its upload). */
function grantOf(url: string): { exp: number; uploadId?: string; part?: number } {
  const token = new URL(url).pathname.split("/").pop() ?? "";
  return JSON.parse(atob((token.split(".")[0] ?? "").replace(/-/g, "+").replace(/_/g, "/")));
}

/** What a renewal may change: the job's open uploads and its listed outputs, as rows. */
async function storedOf(jobId: string): Promise<unknown> {
  const uploads = await env.DB.prepare("SELECT * FROM storage_uploads WHERE job_id = ? ORDER BY upload_id")
    .bind(jobId)
    .all();
  const outputs = await env.DB.prepare("SELECT * FROM job_outputs WHERE job_id = ? ORDER BY path")
    .bind(jobId)
    .all();
  return { uploads: uploads.results, outputs: outputs.results };
}

type Attempt = Awaited<ReturnType<typeof placed>>;

/** POST …/storage/urls as the attempt's agent; the raw answer. */
function renew(attempt: Attempt, body: Record<string, unknown>): Promise<Response> {
  return attempt.agent.send(`/v1/agent/attempts/${attempt.a.attemptId}/storage/urls`, {
    fencing: attempt.a.fencing,
    ...body,
  });
}

async function expectRefused(
  attempt: Attempt,
  body: Record<string, unknown>,
  status: number,
  code?: string,
): Promise<void> {
  const before = await storedOf(attempt.job.id);
  const res = await renew(attempt, body);
  const error = (await res.json()) as { error?: { code?: string } };
  expect(res.status, JSON.stringify(error)).toBe(status);
  if (code) expect(error.error?.code).toBe(code);
  expect(await storedOf(attempt.job.id)).toEqual(before);
}

describe("fresh URLs for a long upload (POST …/storage/urls)", () => {
  afterEach(drainAgents);

  it("re-issues an output's part URLs mid-upload, keeps the sweep off it, and refuses bad asks changing nothing", async () => {
    const big = bytesOf(2 * PART + 99, 7);
    const small = new TextEncoder().encode("small\n");
    const files = [
      { output: 0, path: "big.bin", size: big.length, sha256: await sha256Hex(big) },
      { output: 0, path: "small.txt", size: small.length, sha256: await sha256Hex(small) },
    ];
    // Another account's upload of the same file, begun first (its agent then stops taking work).
    const other = await signup();
    const theirs = await placed(other.apiKey, { outputs: [{ path: "/outputs" }] });
    const plan = await theirs.send<{ uploads: UploadPlan[] }>("outputs/begin", { files: files.slice(0, 1) });
    const foreign = plan.uploads[0]?.upload ?? "";
    await drainAgents();

    const { apiKey } = await signup();
    const attempt = await placed(apiKey, { outputs: [{ path: "/outputs" }] });
    const { uploads } = await attempt.send<{ uploads: UploadPlan[] }>("outputs/begin", { files });
    const [many, one] = uploads;
    if (!many?.parts || !one?.url) throw new Error(JSON.stringify(uploads));
    const first = await putParts(many.parts.slice(0, 1), PART, big);

    // As if begun long ago: without fresh URLs the sweep would abort it now.
    const longAgo = Date.now() - ABANDONED_AFTER_MS;
    await env.DB.prepare("UPDATE storage_uploads SET created_at = ?, urls_issued_at = ? WHERE job_id = ?")
      .bind(longAgo, longAgo, attempt.job.id)
      .run();
    // Its first URLs near their end, the agent asks for the two parts still to send.
    const res = await renew(attempt, { upload: many.upload, partNumbers: [3, 2] });
    expect(res.status).toBe(200);
    const fresh = (await res.json()) as UploadUrlsResponse;
    expect(fresh.parts?.map((p) => p.partNumber)).toEqual([2, 3]);
    for (const part of fresh.parts ?? []) {
      expect(grantOf(part.url).uploadId).toBe(grantOf(many.parts[0]?.url ?? "").uploadId);
      expect(grantOf(part.url).part).toBe(part.partNumber);
      expect(grantOf(part.url).exp).toBeGreaterThanOrEqual(grantOf(many.parts[1]?.url ?? "").exp);
    }
    // The sweep counts from the newest URLs: this upload stays open.
    await abortAbandonedUploads(env);
    expect((await storedOf(attempt.job.id)) as { uploads: unknown[] }).toMatchObject({
      uploads: [{ created_at: longAgo }],
    });
    expect(
      ((await storedOf(attempt.job.id)) as { uploads: { urls_issued_at: number }[] }).uploads[0]
        ?.urls_issued_at,
    ).toBeGreaterThan(longAgo);

    const rest = await putParts(fresh.parts ?? [], PART, big);
    // A single-PUT output not yet sent gets a new PUT URL too (R2 still checks its SHA-256).
    const put = await renew(attempt, { upload: one.upload });
    expect(put.status).toBe(200);
    const { url } = (await put.json()) as UploadUrlsResponse;
    const wrong = await fetchUrl(url ?? "", {
      method: "PUT",
      body: "other\n",
      headers: { "content-length": "6" },
    });
    expect(wrong.status).toBe(400);
    await wrong.body?.cancel();
    const right = await fetchUrl(url ?? "", {
      method: "PUT",
      body: small,
      headers: { "content-length": String(small.length) },
    });
    expect(right.status).toBe(200);

    // Bad asks: 4xx, and neither the open upload nor the outputs change.
    await expectRefused(attempt, { upload: many.upload, partNumbers: [4] }, 422, "bad_part");
    await expectRefused(attempt, { upload: many.upload, partNumbers: [] }, 422, "bad_part");
    await expectRefused(attempt, { upload: many.upload }, 422, "bad_part");
    await expectRefused(attempt, { upload: one.upload, partNumbers: [1] }, 422, "bad_part");
    await expectRefused(attempt, { upload: many.upload, partNumbers: [0] }, 400);
    await expectRefused(attempt, { upload: many.upload, partNumbers: [2, 2] }, 400);
    await expectRefused(attempt, { upload: `${many.upload}x`, partNumbers: [2] }, 403, "bad_signature");
    await expectRefused(attempt, { upload: "not-a-token", partNumbers: [2] }, 403);
    await expectRefused(
      attempt,
      { upload: many.upload, partNumbers: [2], fencing: attempt.a.fencing + 1 },
      409,
    );
    // Another account's upload, sent by this attempt's agent: not this attempt's (theirs unchanged too).
    const theirsBefore = await storedOf(theirs.job.id);
    await expectRefused(attempt, { upload: foreign, partNumbers: [2] }, 403, "bad_upload");
    expect(await storedOf(theirs.job.id)).toEqual(theirsBefore);

    const done = await attempt.send<{ recorded: number }>("outputs/complete", {
      uploads: [{ upload: many.upload, parts: [...first, ...rest] }, { upload: one.upload }],
    });
    expect(done.recorded).toBe(2);
    const listed = (await (await call(`/v1/jobs/${attempt.job.id}/outputs`, authed(apiKey))).json()) as {
      outputs: { path: string; sha256: string; downloadUrl: string }[];
    };
    const bigOut = listed.outputs.find((o) => o.path === "/outputs/big.bin");
    const downloaded = new Uint8Array(await (await fetchUrl(bigOut?.downloadUrl ?? "")).arrayBuffer());
    expect(await sha256Hex(downloaded)).toBe(files[0]?.sha256);
    // Closed now: the completed upload and the listed output get nothing more.
    await expectRefused(attempt, { upload: many.upload, partNumbers: [2] }, 404, "no_such_upload");
    await expectRefused(attempt, { upload: one.upload }, 409, "upload_closed");
  });

  it("re-issues a checkpoint blob's part URLs in the user's S3 bucket (s3rver), then the commit completes it", async () => {
    const { apiKey } = await signup();
    const secret = await call(
      "/v1/secrets",
      jsonInit("POST", { name: "s3", value: env.TEST_S3_CREDENTIALS }, apiKey),
    );
    expect(secret.status).toBe(201);
    const attempt = await placed(apiKey, {
      checkpoint: {
        intervalSeconds: 10,
        to: `s3://${env.TEST_S3_BUCKET}/renewal`,
        s3: { endpoint: env.TEST_S3_ENDPOINT, credentials: { secret: "s3" } },
      },
    });
    const blob = bytesOf(PART + 99, 13);
    const sha256 = await sha256Hex(blob);
    const { uploads } = await attempt.send<{ uploads: BlobUpload[] }>("checkpoint/blobs", {
      blobs: [{ sha256, size: blob.length }],
    });
    const plan = uploads[0];
    if (!plan?.parts || !plan.upload) throw new Error(JSON.stringify(uploads));
    const put = async (url: string, from: number, to: number) => {
      const res = await fetch(url, { method: "PUT", body: blob.slice(from, to) });
      await res.body?.cancel();
      expect(res.status).toBe(200);
      return res.headers.get("etag") ?? "";
    };
    const etag1 = await put(plan.parts[0]?.url ?? "", 0, PART);

    const res = await renew(attempt, { upload: plan.upload, partNumbers: [2] });
    expect(res.status).toBe(200);
    const fresh = (await res.json()) as UploadUrlsResponse;
    const url = fresh.parts?.[0]?.url ?? "";
    // A presigned S3 URL for the same upload and part.
    expect(new URL(url).searchParams.get("partNumber")).toBe("2");
    const etag2 = await put(url, PART, blob.length);
    await expectRefused(attempt, { upload: plan.upload, partNumbers: [3] }, 422, "bad_part");

    const files = [{ path: "state.bin", sha256, size: blob.length, mode: 0o644 }];
    const committed = await attempt.send<{ seq: number }>("checkpoint/commit", {
      files,
      uploads: [
        {
          upload: plan.upload,
          parts: [
            { partNumber: 1, etag: etag1 },
            { partNumber: 2, etag: etag2 },
          ],
        },
      ],
    });
    expect(committed.seq).toBe(1);
    const s3 = new AwsClient({ ...JSON.parse(env.TEST_S3_CREDENTIALS), service: "s3", region: "us-east-1" });
    const stored = await s3.fetch(
      `${env.TEST_S3_ENDPOINT}/${env.TEST_S3_BUCKET}/renewal/${attempt.job.id}/blobs/${sha256}`,
    );
    expect(stored.status).toBe(200);
    expect(await sha256Hex(new Uint8Array(await stored.arrayBuffer()))).toBe(sha256);
    await expectRefused(attempt, { upload: plan.upload, partNumbers: [2] }, 404, "no_such_upload");
  });
});
