import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sweepExpiredCheckpoints } from "../../src/worker/storage/checkpoint-sweep.js";
import { signup } from "./support.js";

const checkpoint = { path: "/meridian/checkpoint", intervalSeconds: 60 };

/** A job's D1 row as it is once it ended, and a committed checkpoint of it in R2 (two blobs). */
async function endedWithCheckpoint(accountId: string, reason: string): Promise<string> {
  const jobId = `job_${crypto.randomUUID().replace(/-/g, "")}`;
  const now = Date.now();
  const spec = { name: "c", image: "meridian/busybox:test", command: ["true"], env: {}, checkpoint };
  await env.DB.prepare(
    `INSERT INTO jobs (id, account_id, name, region, image, spec, status, reason, created_at, ended_at, updated_at)
     VALUES (?, ?, 'c', 'eu-west', 'meridian/busybox:test', ?, 'cancelled', ?, ?, ?, ?)`,
  )
    .bind(jobId, accountId, JSON.stringify(spec), reason, now - 60_000, now - 1_000, now)
    .run();
  for (const blob of ["a".repeat(64), "b".repeat(64)])
    await env.STORAGE.put(`checkpoints/${jobId}/blobs/${blob}`, "bytes");
  const manifestKey = `checkpoints/${jobId}/manifests/00000001.json`;
  await env.STORAGE.put(manifestKey, "{}");
  await env.DB.prepare(
    "INSERT INTO job_checkpoints (job_id, seq, attempt_id, manifest_key, files, bytes, created_at) VALUES (?, 1, 'att_x', ?, 2, 10, ?)",
  )
    .bind(jobId, manifestKey, now)
    .run();
  return jobId;
}

async function stored(jobId: string): Promise<{ objects: number; rows: unknown }> {
  const list = await env.STORAGE.list({ prefix: `checkpoints/${jobId}/` });
  const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM job_checkpoints WHERE job_id = ?")
    .bind(jobId)
    .first();
  return { objects: list.objects.length, rows };
}

describe("checkpoint sweep", () => {
  it("deletes the checkpoints of paused jobs that expired, objects and rows, and leaves others alone", async () => {
    const { id } = await signup();
    const expired = await endedWithCheckpoint(id, "paused_expired: paused for 7 day(s) without a resume");
    const cancelled = await endedWithCheckpoint(id, "cancelled by the user");
    expect(await stored(expired)).toEqual({ objects: 3, rows: { n: 1 } });

    const swept = await sweepExpiredCheckpoints(env);
    expect(swept.jobs).toBeGreaterThanOrEqual(1);
    expect(swept.objects).toBeGreaterThanOrEqual(3);
    expect(await stored(expired)).toEqual({ objects: 0, rows: { n: 0 } });
    expect(await stored(cancelled)).toEqual({ objects: 3, rows: { n: 1 } });
    // Nothing left to do: a second pass finds no such job.
    expect(await sweepExpiredCheckpoints(env)).toEqual({ jobs: 0, objects: 0 });
  });
});
