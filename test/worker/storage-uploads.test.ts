import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { BlobUpload } from "../../src/shared/storage/agent-storage-protocol.js";
import { abortAbandonedUploads } from "../../src/worker/storage/multipart-uploads.js";
import { urlTtlMs } from "../../src/worker/storage/signed-url.js";
import { fetchUrl, placed, putParts, sha256Hex } from "./storage-support.js";
import { signup } from "./support.js";

/** Past every part URL's expiry and the grace for completing: what the sweep calls abandoned. */
const ABANDONED_AFTER_MS = urlTtlMs(env) + 15 * 60 * 1000 + 1_000;

async function openUploads(uploadId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM storage_uploads WHERE upload_id = ?")
    .bind(uploadId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The multipart upload id a blob plan's part URL carries (the Worker's R2 route grant). */
function uploadIdOf(plan: BlobUpload): string {
  const token = new URL(plan.parts?.[0]?.url ?? "").pathname.split("/").pop() ?? "";
  const grant = JSON.parse(atob((token.split(".")[0] ?? "").replace(/-/g, "+").replace(/_/g, "/"))) as {
    uploadId?: string;
  };
  return grant.uploadId ?? "";
}

describe("abandoned multipart uploads", () => {
  it("are recorded while open, forgotten once completed, and aborted by the sweep once nobody can finish them", async () => {
    const { apiKey } = await signup();
    const { send, job } = await placed(apiKey, { checkpoint: { intervalSeconds: 10 } });
    const big = (seed: number) => new Uint8Array(5 * 1024 * 1024 + 99).map((_, i) => (i * seed) % 251);
    const done = big(7);
    const dropped = big(11);
    const blobs = [
      { sha256: await sha256Hex(done), size: done.length },
      { sha256: await sha256Hex(dropped), size: dropped.length },
    ];
    const { uploads } = await send<{ uploads: BlobUpload[] }>("checkpoint/blobs", { blobs });
    const planOf = (sha: string) => uploads.find((u) => u.sha256 === sha);
    const [finished, abandoned] = [planOf(blobs[0]?.sha256 ?? ""), planOf(blobs[1]?.sha256 ?? "")];
    if (!finished?.parts || !finished.upload || !abandoned?.parts || !abandoned.partSizeBytes)
      throw new Error(JSON.stringify(uploads));
    const [finishedId, abandonedId] = [uploadIdOf(finished), uploadIdOf(abandoned)];
    expect(await openUploads(finishedId)).toBe(1);
    expect(await openUploads(abandonedId)).toBe(1);

    // One completes with its commit; the other's agent dies after its first part.
    const parts = await putParts(finished.parts, finished.partSizeBytes ?? 0, done);
    const files = [{ path: "a.bin", ...blobs[0], mode: 0o644 }];
    await send("checkpoint/commit", { files, uploads: [{ upload: finished.upload, parts }] });
    expect(await openUploads(finishedId)).toBe(0);
    const sent = await putParts(abandoned.parts.slice(0, 1), abandoned.partSizeBytes, dropped);

    // Within its URLs' lifetime it is left alone: the agent might still finish it.
    expect(await abortAbandonedUploads(env)).toEqual({ aborted: 0, forgotten: 0, failed: 0 });
    expect(await openUploads(abandonedId)).toBe(1);

    const swept = await abortAbandonedUploads(env, Date.now() + ABANDONED_AFTER_MS);
    expect(swept.aborted).toBeGreaterThanOrEqual(1);
    expect(await openUploads(abandonedId)).toBe(0);
    // Aborted in R2: its remaining part is refused and the upload can no longer be completed.
    const second = abandoned.parts[1];
    const late = await fetchUrl(second?.url ?? "", {
      method: "PUT",
      body: dropped.slice(abandoned.partSizeBytes),
    });
    expect(late.status).toBe(404);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe("no_such_upload");
    await expect(
      env.STORAGE.resumeMultipartUpload(
        `checkpoints/${job.id}/blobs/${blobs[1]?.sha256}`,
        abandonedId,
      ).complete(sent),
    ).rejects.toThrow();
    expect(await abortAbandonedUploads(env, Date.now() + ABANDONED_AFTER_MS)).toEqual({
      aborted: 0,
      forgotten: 0,
      failed: 0,
    });
  });

  it("forgets an upload to a bucket whose credentials secret is gone (nothing can reach it)", async () => {
    const location = {
      kind: "s3",
      endpoint: "https://s3.example.com",
      region: "us-east-1",
      bucket: "b",
      key: "k",
      credentials: "gone",
    };
    await env.DB.prepare(
      "INSERT INTO storage_uploads (upload_id, location, account_id, job_id, created_at) VALUES ('up-gone', ?, 'acct_x', 'job_x', 1)",
    )
      .bind(JSON.stringify(location))
      .run();
    expect(await abortAbandonedUploads(env)).toEqual({ aborted: 0, forgotten: 1, failed: 0 });
    expect(await openUploads("up-gone")).toBe(0);
  });
});
