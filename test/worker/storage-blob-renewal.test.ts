import { env } from "cloudflare:workers";
import { AwsClient } from "aws4fetch";
import { afterEach, describe, expect, it } from "vitest";
import type { JobSpec } from "../../src/shared/job-spec.js";
import type { BlobUpload } from "../../src/shared/storage/agent-storage-protocol.js";
import { openCheckpointPlace } from "../../src/worker/storage/checkpoint-place.js";
import { blobUploads } from "../../src/worker/storage/checkpoint-store.js";
import { fetchUrl, placed, sha256Hex } from "./storage-support.js";
import { call, drainAgents, jsonInit, signup } from "./support.js";

/**
 * A single-PUT checkpoint blob has no upload token: when its URL expires (STORAGE_URL_TTL_SECONDS)
 * the agent asks `checkpoint/blobs` again, which hands a fresh URL for a blob still missing. The
 * first URL is made as the route makes it, under a one-second lifetime, so it really expires.
 */
// Env types the var as wrangler.toml's literal "900"; a deployment may set any number of seconds.
const shortLived = { ...env, STORAGE_URL_TTL_SECONDS: "1" } as unknown as Env;
const ORIGIN = "http://meridian.test";

type Attempt = Awaited<ReturnType<typeof placed>>;

async function expiredThenRenewed(
  attempt: Attempt,
  spec: Pick<JobSpec, "checkpoint">,
  put: (url: string, body: Uint8Array) => Promise<Response>,
) {
  const bytes = new TextEncoder().encode("step=77\n");
  const blob = { sha256: await sha256Hex(bytes), size: bytes.length };
  const row = await env.DB.prepare("SELECT account_id FROM jobs WHERE id = ?")
    .bind(attempt.job.id)
    .first<{ account_id: string }>();
  const owner = { jobId: attempt.job.id, accountId: row?.account_id ?? "" };
  const place = await openCheckpointPlace(shortLived, ORIGIN, { ...owner, spec });
  const [old] = await blobUploads(shortLived, place, owner, [blob]);
  if (!old?.url) throw new Error(JSON.stringify(old));
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  const refused = await put(old.url, bytes);
  expect(refused.status).toBe(403);
  const refusedText = await refused.text();

  // The agent asks again: a fresh URL for the same blob (still missing), which the store takes.
  const { uploads } = await attempt.send<{ uploads: BlobUpload[] }>("checkpoint/blobs", { blobs: [blob] });
  expect(uploads).toHaveLength(1);
  const fresh = uploads[0]?.url ?? "";
  expect(fresh).not.toBe(old.url);
  expect(uploads[0]?.upload).toBeUndefined();
  const stored = await put(fresh, bytes);
  expect(stored.status).toBe(200);
  await stored.body?.cancel();
  // Stored now: asked again, nothing more to send; the checkpoint commits.
  expect(
    (await attempt.send<{ uploads: BlobUpload[] }>("checkpoint/blobs", { blobs: [blob] })).uploads,
  ).toEqual([]);
  const committed = await attempt.send<{ seq: number }>("checkpoint/commit", {
    files: [{ path: "state", ...blob, mode: 0o644 }],
  });
  expect(committed.seq).toBe(1);
  return { refusedText, blob };
}

describe("a single-PUT checkpoint blob whose URL expired", () => {
  afterEach(drainAgents);

  it("in R2: the old URL is refused 403 url_expired, the blobs call hands a fresh one, the commit holds", async () => {
    const { apiKey } = await signup();
    const checkpoint = { path: "/meridian/checkpoint", intervalSeconds: 10 };
    const attempt = await placed(apiKey, { checkpoint });
    const put = (url: string, body: Uint8Array) =>
      fetchUrl(url, { method: "PUT", body, headers: { "content-length": String(body.length) } });
    const { refusedText, blob } = await expiredThenRenewed(attempt, { checkpoint }, put);
    expect(JSON.parse(refusedText)).toMatchObject({ error: { code: "url_expired" } });
    const object = await env.STORAGE.get(`checkpoints/${attempt.job.id}/blobs/${blob.sha256}`);
    expect(await sha256Hex(new Uint8Array(await (object?.arrayBuffer() ?? new ArrayBuffer(0))))).toBe(
      blob.sha256,
    );
  }, 30_000);

  it("in the user's S3 bucket (s3rver): the presigned URL is refused once expired, the fresh one stores the blob", async () => {
    const { apiKey } = await signup();
    const secret = await call(
      "/v1/secrets",
      jsonInit("POST", { name: "s3", value: env.TEST_S3_CREDENTIALS }, apiKey),
    );
    expect(secret.status).toBe(201);
    const checkpoint = {
      path: "/meridian/checkpoint",
      intervalSeconds: 10,
      to: `s3://${env.TEST_S3_BUCKET}/blob-renewal`,
      s3: { endpoint: env.TEST_S3_ENDPOINT, region: "us-east-1", credentials: { secret: "s3" } },
    };
    const attempt = await placed(apiKey, { checkpoint });
    const put = (url: string, body: Uint8Array) => fetch(url, { method: "PUT", body });
    const { refusedText, blob } = await expiredThenRenewed(attempt, { checkpoint }, put);
    expect(refusedText).toContain("Request has expired");
    const s3 = new AwsClient({ ...JSON.parse(env.TEST_S3_CREDENTIALS), service: "s3", region: "us-east-1" });
    const stored = await s3.fetch(
      `${env.TEST_S3_ENDPOINT}/${env.TEST_S3_BUCKET}/blob-renewal/${attempt.job.id}/blobs/${blob.sha256}`,
    );
    expect(stored.status).toBe(200);
    expect(await sha256Hex(new Uint8Array(await stored.arrayBuffer()))).toBe(blob.sha256);
  }, 30_000);
});
