import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { MeridianError } from "../../src/shared/errors.js";
import type { BlobUpload } from "../../src/shared/storage/agent-storage-protocol.js";
import { checkpointGrace } from "../../src/worker/storage/checkpoint-grace.js";
import { sweepCheckpointOrphans } from "../../src/worker/storage/checkpoint-orphans.js";
import { openCheckpointPlace } from "../../src/worker/storage/checkpoint-place.js";
import { blobUploads, commitCheckpoint } from "../../src/worker/storage/checkpoint-store.js";
import { fetchUrl, placed, sha256Hex } from "./storage-support.js";
import { drainAgents, signup } from "./support.js";

/**
 * Blobs a sync uploaded and never committed are deleted by the cron while the job still runs, once
 * they are older than the grace (the job's interval plus five URL lifetimes: 10 + 5 × 900 s here);
 * a committed checkpoint's blobs and manifests never are. Real R2 and D1; the sweep is given the
 * time it runs at.
 */
const INTERVAL = 10;
const GRACE = checkpointGrace(env, INTERVAL);

type Send = Awaited<ReturnType<typeof placed>>["send"];

async function blobOf(text: string) {
  const bytes = new TextEncoder().encode(text);
  return { bytes, sha256: await sha256Hex(bytes), size: bytes.length };
}

/** Asks for the blobs' URLs and PUTs those named in `put` (a sync that may stop before its commit). */
async function upload(send: Send, blobs: Awaited<ReturnType<typeof blobOf>>[], put = blobs) {
  const { uploads } = await send<{ uploads: BlobUpload[] }>("checkpoint/blobs", {
    blobs: blobs.map(({ sha256, size }) => ({ sha256, size })),
  });
  for (const blob of put) {
    const url = uploads.find((u) => u.sha256 === blob.sha256)?.url;
    if (!url) continue;
    const res = await fetchUrl(url, {
      method: "PUT",
      body: blob.bytes,
      headers: { "content-length": String(blob.size) },
    });
    expect(res.status).toBe(200);
  }
  return uploads;
}

async function keys(jobId: string): Promise<string[]> {
  return (await env.STORAGE.list({ prefix: `checkpoints/${jobId}/` })).objects.map((o) => o.key).sort();
}

async function uploadedAt(key: string): Promise<number> {
  const head = await env.STORAGE.head(key);
  if (!head) throw new Error(`${key} is not stored`);
  return head.uploaded.getTime();
}

async function check(jobId: string) {
  return env.DB.prepare("SELECT due_at, offered_at FROM checkpoint_orphan_checks WHERE job_id = ?")
    .bind(jobId)
    .first<{ due_at: number; offered_at: number }>();
}

describe("orphaned checkpoint blobs", () => {
  afterEach(drainAgents);

  it("sweeps a half sync's blobs after the grace and not before, while the job runs", async () => {
    const { apiKey } = await signup();
    const { job, a, agent, send } = await placed(apiKey, { checkpoint: { intervalSeconds: INTERVAL } });
    await send("grant", {});
    await agent.start(a);
    const kept = await blobOf("step=1\n");
    await upload(send, [kept]);
    expect(
      await send<{ seq: number }>("checkpoint/commit", {
        files: [{ path: "step", sha256: kept.sha256, size: kept.size, mode: 0o644 }],
      }),
    ).toMatchObject({ seq: 1 });
    // The next sync: two new blobs asked for, one sent, and the agent dies before its commit.
    const sent = await blobOf("weights-2\n");
    const unsent = await blobOf("optim-2\n");
    expect((await upload(send, [kept, sent, unsent], [sent])).map((u) => u.sha256).sort()).toEqual(
      [sent.sha256, unsent.sha256].sort(),
    );
    const orphan = `checkpoints/${job.id}/blobs/${sent.sha256}`;
    const at = await uploadedAt(orphan);
    const before = await keys(job.id);
    expect(before).toContain(orphan);
    expect(before).toHaveLength(3);

    // Not yet due: the look waits for the grace and a sync's span after the URLs were handed out.
    const row = await check(job.id);
    expect(row?.due_at).toBeGreaterThanOrEqual(at + GRACE.graceMs);
    expect(await sweepCheckpointOrphans(env, at + GRACE.graceMs - 1)).toMatchObject({ jobs: 0, deleted: 0 });
    // Looked at early (as a row made due by an earlier offer would be): one ms short of the grace,
    // the blob stays and the next look is set for when it is past it.
    await env.DB.prepare("UPDATE checkpoint_orphan_checks SET due_at = 0 WHERE job_id = ?")
      .bind(job.id)
      .run();
    expect(await sweepCheckpointOrphans(env, at + GRACE.graceMs)).toMatchObject({ jobs: 1, deleted: 0 });
    expect(await keys(job.id)).toEqual(before);
    expect((await check(job.id))?.due_at).toBe(at + GRACE.graceMs);

    // Past the grace the half sync's blob goes; the committed checkpoint's blob and manifest stay.
    expect(await sweepCheckpointOrphans(env, at + GRACE.graceMs + 1)).toMatchObject({
      jobs: 1,
      deleted: 1,
      failed: 0,
    });
    expect(await keys(job.id)).toEqual(before.filter((key) => key !== orphan));
    // Once no URL handed out can still land, nothing is left to wait for: the row goes.
    const last = (row?.offered_at ?? 0) + GRACE.graceMs + GRACE.spanMs;
    expect((await check(job.id))?.due_at).toBe(last);
    expect(await sweepCheckpointOrphans(env, last)).toMatchObject({ jobs: 1, deleted: 0 });
    expect(await check(job.id)).toBeNull();

    // The job still runs, and its next sync sends the deleted blob again and commits.
    expect((await upload(send, [kept, sent])).map((u) => u.sha256)).toEqual([sent.sha256]);
    expect(
      await send<{ seq: number }>("checkpoint/commit", {
        files: [
          { path: "step", sha256: kept.sha256, size: kept.size, mode: 0o644 },
          { path: "weights", sha256: sent.sha256, size: sent.size, mode: 0o644 },
        ],
      }),
    ).toMatchObject({ seq: 2 });
  }, 30_000);

  it("never sweeps a committed checkpoint's blobs or manifests", async () => {
    const { apiKey } = await signup();
    const { job, a, agent, send } = await placed(apiKey, { checkpoint: { intervalSeconds: INTERVAL } });
    await send("grant", {});
    await agent.start(a);
    const shared = await blobOf("model weights\n");
    const first = await blobOf("step=1\n");
    const second = await blobOf("step=2\n");
    await upload(send, [shared, first]);
    await send("checkpoint/commit", {
      files: [
        { path: "weights", sha256: shared.sha256, size: shared.size, mode: 0o644 },
        { path: "step", sha256: first.sha256, size: first.size, mode: 0o644 },
      ],
    });
    await upload(send, [shared, second]);
    await send("checkpoint/commit", {
      files: [
        { path: "weights", sha256: shared.sha256, size: shared.size, mode: 0o644 },
        { path: "step", sha256: second.sha256, size: second.size, mode: 0o644 },
      ],
    });
    const stored = await keys(job.id);
    // Three blobs (the shared one once) and two manifests.
    expect(stored).toHaveLength(5);
    const newest = Math.max(...(await Promise.all(stored.map(uploadedAt))));
    // Looked at long past every grace, again and again: everything a commit recorded stays.
    for (const later of [1, 2, 10]) {
      await env.DB.prepare("UPDATE checkpoint_orphan_checks SET due_at = 0 WHERE job_id = ?")
        .bind(job.id)
        .run();
      expect(await sweepCheckpointOrphans(env, newest + later * GRACE.graceMs + GRACE.spanMs)).toMatchObject({
        failed: 0,
      });
      expect(await keys(job.id)).toEqual(stored);
    }
    // And the latest checkpoint still restores: the grant names both its files.
    const grant = await send<{
      checkpoint: { restore: { seq: number; files: { sha256: string }[] } | null } | null;
    }>("grant", {});
    const restore = grant.checkpoint?.restore;
    expect(restore?.seq).toBe(2);
    expect(restore?.files.map((f) => f.sha256).sort()).toEqual([shared.sha256, second.sha256].sort());
  }, 30_000);

  it("refuses a commit leaning on an unrecorded blob old enough to be swept; the next sync sends it again", async () => {
    // Under a 0.25 s URL lifetime and no interval, a commit takes an unrecorded blob up to 1 s old
    // and a sync reuses one up to 0.5 s old (the deployed 900 s make these 4,510 s and 1,810 s at 10 s).
    const quick = { ...env, STORAGE_URL_TTL_SECONDS: "0.25" } as unknown as Env;
    expect(checkpointGrace(quick, 0)).toMatchObject({ commitMaxAgeMs: 1000, reuseMaxAgeMs: 500 });
    const { apiKey } = await signup();
    const { job, a, send } = await placed(apiKey, { checkpoint: { intervalSeconds: INTERVAL } });
    await send("grant", {});
    const row = await env.DB.prepare("SELECT account_id FROM jobs WHERE id = ?")
      .bind(job.id)
      .first<{ account_id: string }>();
    const owner = { jobId: job.id, accountId: row?.account_id ?? "" };
    const spec = { checkpoint: { path: "/meridian/checkpoint", intervalSeconds: INTERVAL } };
    const place = await openCheckpointPlace(quick, "http://meridian.test", { ...owner, spec });
    // A failed sync's blob, left in the store with no commit.
    const blob = await blobOf("step=9\n");
    await env.STORAGE.put(`checkpoints/${job.id}/blobs/${blob.sha256}`, blob.bytes);
    const at = await uploadedAt(`checkpoints/${job.id}/blobs/${blob.sha256}`);
    while (Date.now() <= at + 1000) await new Promise((resolve) => setTimeout(resolve, 100));
    const files = [{ path: "step", sha256: blob.sha256, size: blob.size, mode: 0o644 }];
    const refused = await commitCheckpoint(quick, place, {
      jobId: job.id,
      attemptId: a.attemptId,
      files,
      intervalSeconds: 0,
    }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MeridianError);
    expect(refused).toMatchObject({ status: 422, code: "checkpoint_stale" });
    const counts = await env.DB.prepare(
      "SELECT (SELECT COUNT(*) FROM job_checkpoints WHERE job_id = ?1) AS checkpoints, (SELECT COUNT(*) FROM job_checkpoint_blobs WHERE job_id = ?1) AS blobs",
    )
      .bind(job.id)
      .first();
    expect(counts).toEqual({ checkpoints: 0, blobs: 0 });
    // Asked for it again, the sync gets a URL to send it afresh; under the deployed lifetime the
    // same blob is young and reused, and the commit takes it.
    const named = [{ sha256: blob.sha256, size: blob.size }];
    const noInterval = { checkpoint: { ...spec.checkpoint, intervalSeconds: 0 } };
    expect(
      (await blobUploads(quick, place, { ...owner, spec: noInterval }, named)).map((u) => u.sha256),
    ).toEqual([blob.sha256]);
    expect(await send<{ uploads: BlobUpload[] }>("checkpoint/blobs", { blobs: named })).toEqual({
      uploads: [],
    });
    expect(await send<{ seq: number }>("checkpoint/commit", { files })).toMatchObject({ seq: 1 });
  }, 30_000);
});
