import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { afterEach, describe, expect, it } from "vitest";
import { runBatch } from "../../src/ledger/ledger-db.js";
import { storageChargeMicros, storageChargeStatements } from "../../src/ledger/storage-charge.js";
import { checkpointRetentionOf, type JobCheckpoints } from "../../src/shared/storage/checkpoint-retention.js";
import { sweepExpiredCheckpoints } from "../../src/worker/storage/checkpoint-sweep.js";
import { balances, ledgerSum } from "./ledger-support.js";
import { fetchUrl, placed, sha256Hex } from "./storage-support.js";
import { authed, call, drainAgents, jobOf, signup } from "./support.js";

/**
 * Every kept checkpoint's bytes are billed, each distinct blob once, and every manifest: two
 * checkpoints sharing a 1,000-byte file hold 1,000 + 8 + 500 bytes of blobs, not the latest's 1,008
 * nor the rows' sum of 2,016, plus their manifests — exactly what R2 holds under the job's prefix.
 * A price of $7,000 a GB-month makes these few bytes cost whole µUSD.
 */
const PRICE = 7_000_000_000;
const priced = { ...env, STORAGE_MICROS_PER_GB_MONTH: String(PRICE) };
const RETENTION_MS = checkpointRetentionOf(env).retentionMs;

const bytesOf = (text: string) => new TextEncoder().encode(text);

async function commit(
  send: <T>(path: string, payload: Record<string, unknown>) => Promise<T>,
  files: { path: string; bytes: Uint8Array }[],
): Promise<{ seq: number; bytes: number }> {
  const named = await Promise.all(
    files.map(async (file) => ({
      path: file.path,
      sha256: await sha256Hex(file.bytes),
      size: file.bytes.length,
    })),
  );
  const { uploads } = await send<{ uploads: { sha256: string; url: string }[] }>("checkpoint/blobs", {
    blobs: named.map(({ sha256, size }) => ({ sha256, size })),
  });
  for (const upload of uploads) {
    const body = files[named.findIndex((file) => file.sha256 === upload.sha256)]?.bytes ?? new Uint8Array();
    const res = await fetchUrl(upload.url, {
      method: "PUT",
      body,
      headers: { "content-length": String(body.length) },
    });
    expect(res.status).toBe(200);
  }
  return send("checkpoint/commit", { files: named.map((file) => ({ ...file, mode: 0o644 })) });
}

/** What R2 holds under the job's checkpoint prefix: blobs and manifests, byte for byte. */
async function storedInR2(jobId: string): Promise<{ blobs: number; manifests: number; total: number }> {
  const { objects } = await env.STORAGE.list({ prefix: `checkpoints/${jobId}/` });
  const sum = (part: string) =>
    objects.filter((o) => o.key.includes(`/${part}/`)).reduce((total, o) => total + o.size, 0);
  return { blobs: sum("blobs"), manifests: sum("manifests"), total: sum("blobs") + sum("manifests") };
}

async function storageTransfers(jobId: string) {
  const { results } = await env.DB.prepare(
    "SELECT debit_account_id AS from_account, credit_account_id AS to_account, amount_micros, memo FROM ledger_transfers WHERE job_id = ? AND kind = 'storage'",
  )
    .bind(jobId)
    .all<{ from_account: string; to_account: string; amount_micros: number; memo: string }>();
  return results;
}

async function endedAt(apiKey: string, jobId: string): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const row = await env.DB.prepare("SELECT ended_at FROM jobs WHERE id = ?")
      .bind(jobId)
      .first<{ ended_at: number | null }>();
    if (row?.ended_at) return row.ended_at;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the job never ended: ${JSON.stringify(await jobOf(apiKey, jobId))}`);
}

describe("checkpoint storage billing", () => {
  afterEach(drainAgents);

  it("bills every kept checkpoint's distinct blobs for the retention, once, Σ 0", async () => {
    const { id: accountId, apiKey } = await signup();
    const { job, a, agent, send } = await placed(apiKey, { checkpoint: { intervalSeconds: 10 } });
    await send("grant", {});
    const model = new Uint8Array(1000).fill(3);
    // Checkpoint 1: the model and a step counter; checkpoint 2 keeps the model and adds an optimiser state.
    expect(
      await commit(send, [
        { path: "weights", bytes: model },
        { path: "step", bytes: bytesOf("step=10\n") },
      ]),
    ).toEqual({ seq: 1, bytes: 1008 });
    expect(
      await commit(send, [
        { path: "weights", bytes: model },
        { path: "optim", bytes: new Uint8Array(500).fill(9) },
      ]),
    ).toEqual({ seq: 2, bytes: 1500 });
    // The same checkpoint committed again names no new blob: still 1,508 bytes stored.
    expect(
      await commit(send, [
        { path: "weights", bytes: model },
        { path: "optim", bytes: new Uint8Array(500).fill(9) },
      ]),
    ).toEqual({ seq: 3, bytes: 1500 });
    expect((await agent.exit(a, 0)).status).toBe(200);
    const end = await endedAt(apiKey, job.id);

    const view = (await (
      await call(`/v1/jobs/${job.id}/checkpoints`, authed(apiKey))
    ).json()) as JobCheckpoints;
    const inR2 = await storedInR2(job.id);
    expect(inR2.blobs).toBe(1508);
    // Three manifests of a few hundred bytes each.
    expect(inR2.manifests).toBeGreaterThan(3 * 200);
    const stored = inR2.total;
    expect(view).toMatchObject({ store: "r2", bytes: 1500, storedBytes: stored });
    expect(view.checkpoints.map((c) => c.seq)).toEqual([3, 2, 1]);

    // Within the retention nothing is charged; past it the sweep deletes them and bills the week.
    const before = await balances();
    await sweepExpiredCheckpoints(priced, end + RETENTION_MS - 1);
    expect(await storageTransfers(job.id)).toEqual([]);
    const later = end + RETENTION_MS + 60_000;
    expect(await sweepExpiredCheckpoints(priced, later, 50)).toMatchObject({ failed: 0 });
    // The week (wrangler.toml: 604,800 s) of the stored bytes at $7,000 a GB-month: bytes × 7/30 ×
    // 7e9 / 1e9 µUSD, rounded up (the blobs' 1,508 alone would be 2,463.07 → 2,464).
    expect(RETENTION_MS).toBe(604_800_000);
    const expected = Math.ceil((stored * 49) / 30);
    expect(storageChargeMicros(stored, end, end + RETENTION_MS, PRICE)).toBe(expected);
    expect(expected).toBeGreaterThan(2464);
    const charged = await storageTransfers(job.id);
    expect(charged).toEqual([
      {
        from_account: `user:${accountId}`,
        to_account: "fees",
        amount_micros: expected,
        memo: `checkpoint storage: ${stored} bytes for ${RETENTION_MS / 1000} s`,
      },
    ]);
    const after = await balances();
    expect((before.get(`user:${accountId}`) ?? 0) - (after.get(`user:${accountId}`) ?? 0)).toBe(expected);
    expect((after.get("fees") ?? 0) - (before.get("fees") ?? 0)).toBe(expected);
    expect(await ledgerSum()).toBe(0);

    // Every blob, manifest and row is gone.
    expect((await env.STORAGE.list({ prefix: `checkpoints/${job.id}/` })).objects).toEqual([]);
    const rows = await env.DB.prepare(
      "SELECT (SELECT COUNT(*) FROM job_checkpoints WHERE job_id = ?1) AS checkpoints, (SELECT COUNT(*) FROM job_checkpoint_blobs WHERE job_id = ?1) AS blobs",
    )
      .bind(job.id)
      .first();
    expect(rows).toEqual({ checkpoints: 0, blobs: 0 });

    // Replayed: the sweep again, and the very charge's statements again, move nothing more.
    await sweepExpiredCheckpoints(priced, later + 60_000, 50);
    const db = drizzle(env.DB);
    await runBatch(
      db,
      storageChargeStatements(
        db,
        {
          accountId,
          jobId: job.id,
          key: `storage:${job.id}:ended`,
          bytes: stored,
          fromMs: end,
          toMs: end + RETENTION_MS,
          amountMicros: expected,
        },
        later,
      ),
    );
    expect(await storageTransfers(job.id)).toHaveLength(1);
    expect(await balances()).toEqual(after);
    expect(await ledgerSum()).toBe(0);
  }, 30_000);

  it("tells the region every kept checkpoint's bytes, manifests included, so a pause bills them all", async () => {
    const { apiKey } = await signup();
    const { job, a, agent, send } = await placed(apiKey, { checkpoint: { intervalSeconds: 10 } });
    await send("grant", {});
    await agent.start(a);
    await commit(send, [{ path: "a", bytes: new Uint8Array(700).fill(1) }]);
    await commit(send, [{ path: "b", bytes: new Uint8Array(300).fill(2) }]);
    const paused = await call(`/v1/jobs/${job.id}/pause`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
      body: "{}",
    });
    expect(paused.status).toBe(202);
    expect((await agent.exit(a, 143, "cancelled")).status).toBe(200);
    const view = await jobOf(apiKey, job.id);
    expect(view).toMatchObject({ status: "paused" });
    // Checkpoint 2 holds 300 bytes, but checkpoint 1's 700 are kept too, and both manifests: the
    // bytes billed are what R2 holds under the job's prefix, exactly.
    const inR2 = await storedInR2(job.id);
    expect(inR2.blobs).toBe(1000);
    expect(inR2.manifests).toBeGreaterThan(0);
    expect(view.reason).toContain(`checkpoint 2 (${inR2.total} bytes) is kept until`);
    expect((await call(`/v1/jobs/${job.id}/cancel`, authed(apiKey, "POST"))).status).toBe(200);
    const charged = await storageTransfers(job.id);
    expect(charged).toHaveLength(1);
    expect(charged[0]?.memo).toMatch(new RegExp(`^checkpoint storage: ${inR2.total} bytes for \\d+ s$`));
    expect(await ledgerSum()).toBe(0);
  }, 30_000);
});
