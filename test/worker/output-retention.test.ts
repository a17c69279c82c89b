import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { afterEach, describe, expect, it } from "vitest";
import { runBatch } from "../../src/ledger/ledger-db.js";
import { storageChargeStatements } from "../../src/ledger/storage-charge.js";
import type { OutputView, UploadPlan } from "../../src/shared/storage/agent-storage-protocol.js";
import { outputRetentionOf } from "../../src/shared/storage/output-retention.js";
import { outputChargeMicros, sweepExpiredOutputs } from "../../src/worker/storage/output-sweep.js";
import { balances, ledgerSum } from "./ledger-support.js";
import { fetchUrl, placed, sha256Hex } from "./storage-support.js";
import { authed, call, drainAgents, jsonInit, signup, submit } from "./support.js";

/** $7,000 a GB-month, so a few hundred bytes kept an hour or two cost whole µUSD. */
const PRICE = 7_000_000_000;
const priced = { ...env, STORAGE_MICROS_PER_GB_MONTH: String(PRICE) };
const DEFAULT_MS = outputRetentionOf(env).retentionMs;

type Attempt = Awaited<ReturnType<typeof placed>>;

/** Uploads each file as the agent does (one PUT each) and lists them as the job's outputs. */
async function upload(attempt: Attempt, files: { output: number; path: string; bytes: Uint8Array }[]) {
  const named = await Promise.all(
    files.map(async (f) => ({
      output: f.output,
      path: f.path,
      size: f.bytes.length,
      sha256: await sha256Hex(f.bytes),
    })),
  );
  const { uploads } = await attempt.send<{ uploads: UploadPlan[] }>("outputs/begin", { files: named });
  for (const [i, plan] of uploads.entries()) {
    const body = files[i]?.bytes ?? new Uint8Array();
    const res = await fetchUrl(plan.url ?? "", {
      method: "PUT",
      body,
      headers: { "content-length": String(body.length) },
    });
    expect(res.status).toBe(200);
  }
  await attempt.send("outputs/complete", { uploads: uploads.map((plan) => ({ upload: plan.upload })) });
}

async function rowsOf(jobId: string) {
  const { results } = await env.DB.prepare(
    "SELECT path, size, created_at, expires_at, json_extract(location, '$.key') AS key FROM job_outputs WHERE job_id = ? ORDER BY path",
  )
    .bind(jobId)
    .all<{ path: string; size: number; created_at: number; expires_at: number | null; key: string }>();
  return results;
}

async function storageTransfers(jobId: string) {
  const { results } = await env.DB.prepare(
    "SELECT debit_account_id AS from_account, credit_account_id AS to_account, amount_micros, memo, idempotency_key FROM ledger_transfers WHERE job_id = ? AND kind = 'storage' ORDER BY created_at, idempotency_key",
  )
    .bind(jobId)
    .all<{
      from_account: string;
      to_account: string;
      amount_micros: number;
      memo: string;
      idempotency_key: string;
    }>();
  return results;
}

const filled = (size: number, value: number) => new Uint8Array(size).fill(value);

describe("output retention", () => {
  afterEach(drainAgents);

  it("keeps each output for its keep, shows when it expires, then deletes it and bills the time kept, Σ 0", async () => {
    const { id: accountId, apiKey } = await signup();
    const attempt = await placed(apiKey, {
      outputs: [{ path: "/outputs" }, { path: "/results", keepForSeconds: 7200 }],
    });
    await upload(attempt, [
      { output: 0, path: "model.bin", bytes: filled(1000, 1) },
      { output: 1, path: "metrics.json", bytes: filled(500, 2) },
    ]);
    const [model, metrics] = await rowsOf(attempt.job.id);
    if (!metrics || !model) throw new Error("outputs not listed");
    expect(metrics).toMatchObject({
      path: "/results/metrics.json",
      expires_at: metrics.created_at + 7_200_000,
    });
    expect(model).toMatchObject({ path: "/outputs/model.bin", expires_at: model.created_at + DEFAULT_MS });
    expect(DEFAULT_MS).toBe(30 * 86_400_000);

    // The outputs view shows each file's expiry.
    const listed = (await (await call(`/v1/jobs/${attempt.job.id}/outputs`, authed(apiKey))).json()) as {
      outputs: OutputView[];
    };
    expect(listed.outputs.map((o) => [o.path, o.expiresAt])).toEqual([
      ["/outputs/model.bin", new Date(model.created_at + DEFAULT_MS).toISOString()],
      ["/results/metrics.json", new Date(metrics.created_at + 7_200_000).toISOString()],
    ]);

    // Not yet: nothing deleted or charged.
    const start = await balances();
    await sweepExpiredOutputs(priced, metrics.created_at + 7_200_000 - 1);
    expect(await rowsOf(attempt.job.id)).toHaveLength(2);
    expect(await storageTransfers(attempt.job.id)).toEqual([]);

    // Past the two hours: the metrics file goes, billed 500 bytes × 2 h at $7,000/GB-month = 9.72 → 10 µUSD.
    await sweepExpiredOutputs(priced, metrics.created_at + 7_200_000 + 1_000, 100);
    expect((await rowsOf(attempt.job.id)).map((r) => r.path)).toEqual(["/outputs/model.bin"]);
    expect(await env.STORAGE.head(metrics.key)).toBeNull();
    expect(await env.STORAGE.head(model.key)).not.toBeNull();
    expect(outputChargeMicros([{ size: 500, createdAt: 0 }], 7_200_000, PRICE)).toBe(10);
    expect(await storageTransfers(attempt.job.id)).toEqual([
      {
        from_account: `user:${accountId}`,
        to_account: "fees",
        amount_micros: 10,
        memo: "output storage: 500 bytes for 7200 s",
        idempotency_key: `storage:${attempt.job.id}:outputs:${metrics.expires_at}`,
      },
    ]);

    // Past 30 days: the model goes too, 1,000 bytes × 1 month = 7,000 µUSD exactly.
    const later = model.created_at + DEFAULT_MS + 1_000;
    await sweepExpiredOutputs(priced, later, 100);
    expect(await rowsOf(attempt.job.id)).toEqual([]);
    expect(await env.STORAGE.head(model.key)).toBeNull();
    const charged = await storageTransfers(attempt.job.id);
    expect(charged.map((t) => [t.amount_micros, t.memo])).toEqual([
      [10, "output storage: 500 bytes for 7200 s"],
      [7000, "output storage: 1000 bytes for 2592000 s"],
    ]);
    const end = await balances();
    expect((start.get(`user:${accountId}`) ?? 0) - (end.get(`user:${accountId}`) ?? 0)).toBe(7010);
    expect((end.get("fees") ?? 0) - (start.get("fees") ?? 0)).toBe(7010);
    expect(await ledgerSum()).toBe(0);
    const view = (await (await call(`/v1/jobs/${attempt.job.id}/outputs`, authed(apiKey))).json()) as {
      outputs: OutputView[];
    };
    expect(view.outputs).toEqual([]);

    // Replayed: the sweep again, and the last charge's statements again, move nothing.
    await sweepExpiredOutputs(priced, later + 60_000, 100);
    const db = drizzle(env.DB);
    await runBatch(
      db,
      storageChargeStatements(
        db,
        {
          accountId,
          jobId: attempt.job.id,
          key: `storage:${attempt.job.id}:outputs:${model.expires_at}`,
          bytes: 1000,
          fromMs: model.created_at,
          toMs: model.expires_at ?? 0,
          amountMicros: 7000,
          what: "output",
        },
        later,
      ),
    );
    expect(await storageTransfers(attempt.job.id)).toHaveLength(2);
    expect(await balances()).toEqual(end);
    expect(await ledgerSum()).toBe(0);
  }, 30_000);

  it("keeps an object another job's output still names, deleting only the expired row", async () => {
    const { apiKey } = await signup();
    const first = await placed(apiKey, {
      outputs: [{ path: "/outputs", to: "r2://shared", keepForSeconds: 3600 }],
    });
    await upload(first, [{ output: 0, path: "x.bin", bytes: filled(300, 4) }]);
    // Its agent takes no more work: the second job goes to a node of its own.
    await drainAgents();
    const second = await placed(apiKey, { outputs: [{ path: "/outputs", to: "r2://shared" }] });
    await upload(second, [{ output: 0, path: "x.bin", bytes: filled(300, 5) }]);
    const [mine] = await rowsOf(first.job.id);
    const [theirs] = await rowsOf(second.job.id);
    expect(mine?.key).toBe(theirs?.key);

    await sweepExpiredOutputs(priced, (mine?.expires_at ?? 0) + 1_000, 100);
    expect(await rowsOf(first.job.id)).toEqual([]);
    expect((await storageTransfers(first.job.id)).map((t) => t.memo)).toEqual([
      "output storage: 300 bytes for 3600 s",
    ]);
    // The second job's file is still there, whole, and downloadable.
    const listed = (await (await call(`/v1/jobs/${second.job.id}/outputs`, authed(apiKey))).json()) as {
      outputs: OutputView[];
    };
    const bytes = new Uint8Array(await (await fetchUrl(listed.outputs[0]?.downloadUrl ?? "")).arrayBuffer());
    expect(bytes).toEqual(filled(300, 5));
  }, 30_000);

  it("refuses a bad keepForSeconds with 400, storing no job", async () => {
    const { id: accountId, apiKey } = await signup();
    const secret = await call(
      "/v1/secrets",
      jsonInit("POST", { name: "aws", value: '{"accessKeyId":"a","secretAccessKey":"b"}' }, apiKey),
    );
    expect(secret.status).toBe(201);
    const s3 = { endpoint: "https://s3.example.com", credentials: { secret: "aws" } };
    const bad: [unknown, string][] = [
      [0, "at least 3600"],
      [3599, "at least 3600"],
      [-3600, "at least 3600"],
      [366 * 86_400 + 1, "at most 31622400"],
      [3600.5, "expected int"],
      ["7d", "number"],
      [null, "number"],
    ];
    const count = async () =>
      ((await (await call("/v1/jobs", authed(apiKey))).json()) as { jobs: unknown[] }).jobs.length;
    const before = await count();
    const base = { name: "t", image: "meridian/busybox:test", command: ["true"], region: "eu-west" };
    for (const [keepForSeconds, text] of bad) {
      const res = await submit(apiKey, { ...base, outputs: [{ path: "/outputs", keepForSeconds }] });
      const body = await res.text();
      expect(res.status, body).toBe(400);
      expect(body).toContain(text);
    }
    const onS3 = await submit(apiKey, {
      ...base,
      outputs: [{ path: "/outputs", to: "s3://bucket/out", s3, keepForSeconds: 3600 }],
    });
    const body = await onS3.text();
    expect(onS3.status, body).toBe(400);
    expect(body).toContain("stays in your bucket");
    expect(await count()).toBe(before);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM jobs WHERE account_id = ?")
      .bind(accountId)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });
});
