import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { storageChargeMicros } from "../../src/ledger/storage-charge.js";
import { newId } from "../../src/shared/ids.js";
import {
  type CheckpointsDeleted,
  checkpointRetentionOf,
  type JobCheckpoints,
} from "../../src/shared/storage/checkpoint-retention.js";
import { sweepExpiredCheckpoints } from "../../src/worker/storage/checkpoint-sweep.js";
import { authed, call, expectError, signup } from "./support.js";

const checkpoint = { path: "/meridian/checkpoint", intervalSeconds: 60 };
/** What the latest checkpoint row says it holds: 10 GB, so a week of it costs a visible amount. */
const BYTES = 10_000_000_000;
const RETENTION_MS = checkpointRetentionOf(env).retentionMs;

interface Ended {
  accountId: string;
  status?: string;
  reason: string;
  endedAt?: number | null;
  spec?: Record<string, unknown>;
}

/** A job's D1 row as it is once it ended, and a committed checkpoint of it in R2 (two blobs). */
async function withCheckpoint(job: Ended): Promise<string> {
  const jobId = newId("job");
  const now = Date.now();
  const spec = {
    name: "c",
    image: "meridian/busybox:test",
    command: ["true"],
    env: {},
    checkpoint,
    ...job.spec,
  };
  await env.DB.prepare(
    `INSERT INTO jobs (id, account_id, name, region, image, spec, status, reason, created_at, ended_at, updated_at)
     VALUES (?, ?, 'c', 'eu-west', 'meridian/busybox:test', ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      jobId,
      job.accountId,
      JSON.stringify(spec),
      job.status ?? "cancelled",
      job.reason,
      now - 60_000,
      job.endedAt === undefined ? now - 1_000 : job.endedAt,
      now,
    )
    .run();
  for (const blob of ["a".repeat(64), "b".repeat(64)])
    await env.STORAGE.put(`checkpoints/${jobId}/blobs/${blob}`, "bytes");
  const manifestKey = `checkpoints/${jobId}/manifests/00000001.json`;
  await env.STORAGE.put(manifestKey, "{}");
  await env.DB.prepare(
    "INSERT INTO job_checkpoints (job_id, seq, attempt_id, manifest_key, files, bytes, created_at) VALUES (?, 1, 'att_x', ?, 2, ?, ?)",
  )
    .bind(jobId, manifestKey, BYTES, now)
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

async function storageCharges(jobId: string): Promise<{ amount_micros: number; memo: string }[]> {
  const { results } = await env.DB.prepare(
    "SELECT amount_micros, memo FROM ledger_transfers WHERE job_id = ? AND kind = 'storage'",
  )
    .bind(jobId)
    .all<{ amount_micros: number; memo: string }>();
  return results;
}

async function endedAtOf(jobId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT ended_at FROM jobs WHERE id = ?")
    .bind(jobId)
    .first<{ ended_at: number }>();
  return row?.ended_at ?? 0;
}

describe("checkpoint retention", () => {
  it("keeps an ended job's checkpoints for the retention, then the sweep deletes them and bills the time kept", async () => {
    const { id, apiKey } = await signup();
    const cancelled = await withCheckpoint({ accountId: id, reason: "cancelled by the user" });
    const failed = await withCheckpoint({ accountId: id, status: "failed", reason: "exited with code 1" });
    const expired = await withCheckpoint({
      accountId: id,
      reason: "paused_expired: paused for 7 day(s) without a resume",
    });

    // Now: only the expired pause goes (its keep is over); the ended jobs are within their retention.
    await sweepExpiredCheckpoints(env);
    expect(await stored(expired)).toEqual({ objects: 0, rows: { n: 0 } });
    expect(await storageCharges(expired)).toEqual([]);
    expect(await stored(cancelled)).toEqual({ objects: 3, rows: { n: 1 } });
    expect(await stored(failed)).toEqual({ objects: 3, rows: { n: 1 } });

    // The user sees how long they are kept and what they cost so far.
    const listed = await call(`/v1/jobs/${cancelled}/checkpoints`, authed(apiKey));
    expect(listed.status).toBe(200);
    const view = (await listed.json()) as JobCheckpoints;
    const endedAt = await endedAtOf(cancelled);
    expect(view).toMatchObject({ store: "r2", bytes: BYTES, microsPerGbMonth: 70_000 });
    expect(view.keptUntil).toBe(new Date(endedAt + RETENTION_MS).toISOString());
    expect(view.checkpoints).toHaveLength(1);
    expect(view.accruedMicros).toBeGreaterThan(0);

    // Past the retention: deleted, and the week kept is on the ledger (not a minute more).
    const later = Date.now() + RETENTION_MS + 60_000;
    await sweepExpiredCheckpoints(env, later);
    for (const jobId of [cancelled, failed]) {
      expect(await stored(jobId)).toEqual({ objects: 0, rows: { n: 0 } });
      const charges = await storageCharges(jobId);
      const endMs = await endedAtOf(jobId);
      expect(charges).toHaveLength(1);
      expect(charges[0]?.amount_micros).toBe(storageChargeMicros(BYTES, endMs, endMs + RETENTION_MS, 70_000));
      expect(charges[0]?.memo).toContain(`${BYTES} bytes for ${RETENTION_MS / 1000} s`);
    }
    // A week of 10 GB at $0.07/GB-month: about 16 cents, once.
    expect((await storageCharges(cancelled))[0]?.amount_micros).toBeGreaterThan(160_000);
    const ledger = (await (await call("/v1/ledger", authed(apiKey))).json()) as {
      entries: { kind: string; jobId: string | null }[];
    };
    expect(
      ledger.entries
        .filter((e) => e.kind === "storage")
        .map((e) => e.jobId)
        .sort(),
    ).toEqual([cancelled, failed].sort());
    await sweepExpiredCheckpoints(env, later);
    expect(await storageCharges(cancelled)).toHaveLength(1);
  });

  it("lets a user delete an ended job's checkpoints early, billed to that moment; refuses a live job's", async () => {
    const { id, apiKey } = await signup();
    const other = await signup();
    const ended = await withCheckpoint({ accountId: id, status: "failed", reason: "exhausted its retries" });
    const running = await withCheckpoint({
      accountId: id,
      status: "running",
      reason: "started",
      endedAt: null,
    });
    const paused = await withCheckpoint({ accountId: id, status: "paused", reason: "paused", endedAt: null });

    for (const jobId of [running, paused]) {
      await expectError(
        await call(`/v1/jobs/${jobId}/checkpoints`, authed(apiKey, "DELETE")),
        409,
        "job_not_ended",
      );
      expect(await stored(jobId)).toEqual({ objects: 3, rows: { n: 1 } });
      const view = (await (
        await call(`/v1/jobs/${jobId}/checkpoints`, authed(apiKey))
      ).json()) as JobCheckpoints;
      expect(view).toMatchObject({ keptUntil: null, accruedMicros: 0 });
    }
    // Someone else's job, or no such job: 404, nothing deleted.
    await expectError(
      await call(`/v1/jobs/${ended}/checkpoints`, authed(other.apiKey, "DELETE")),
      404,
      "job_not_found",
    );
    await expectError(
      await call("/v1/jobs/nope/checkpoints", authed(apiKey, "DELETE")),
      404,
      "job_not_found",
    );
    expect(await stored(ended)).toEqual({ objects: 3, rows: { n: 1 } });

    const deleted = await call(`/v1/jobs/${ended}/checkpoints`, authed(apiKey, "DELETE"));
    expect(deleted.status).toBe(200);
    const body = (await deleted.json()) as CheckpointsDeleted;
    expect(body).toMatchObject({ jobId: ended, objects: 3, bytes: BYTES });
    expect(await stored(ended)).toEqual({ objects: 0, rows: { n: 0 } });
    // Kept about a second since the job ended: a few µUSD, far less than the week.
    const charges = await storageCharges(ended);
    expect(charges.map((c) => c.amount_micros)).toEqual([body.chargedMicros]);
    expect(body.chargedMicros).toBeGreaterThan(0);
    expect(body.chargedMicros).toBeLessThan(1_000);
    await expectError(
      await call(`/v1/jobs/${ended}/checkpoints`, authed(apiKey, "DELETE")),
      404,
      "no_checkpoint",
    );
  });

  it("does not bill checkpoints kept in the user's own S3 bucket, and forgets them once their credentials are gone", async () => {
    const { id } = await signup();
    const s3 = await withCheckpoint({
      accountId: id,
      reason: "succeeded",
      status: "succeeded",
      spec: {
        checkpoint: {
          ...checkpoint,
          to: "s3://bucket/ckpt",
          s3: { endpoint: "https://s3.example.com", credentials: { secret: "gone" } },
        },
      },
    });
    const swept = await sweepExpiredCheckpoints(env, Date.now() + RETENTION_MS + 60_000);
    expect(swept.jobs).toBeGreaterThanOrEqual(1);
    expect((await stored(s3)).rows).toEqual({ n: 0 });
    expect(await storageCharges(s3)).toEqual([]);
  });
});
