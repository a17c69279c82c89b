import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { storageChargeMicros } from "../../src/ledger/storage-charge.js";
import type { OutputView, UploadPlan } from "../../src/shared/storage/agent-storage-protocol.js";
import type { OutputsDeleted } from "../../src/shared/storage/output-delete-api.js";
import { outputRetentionOf } from "../../src/shared/storage/output-retention.js";
import { deleteOutputs } from "../../src/worker/storage/output-delete.js";
import { outputChargeMicros, sweepExpiredOutputs } from "../../src/worker/storage/output-sweep.js";
import { balances, ledgerSum } from "./ledger-support.js";
import { fetchUrl, placed, sha256Hex } from "./storage-support.js";
import { authed, call, drainAgents, signup } from "./support.js";

/** $7,000 a GB-month, so a few hundred bytes kept an hour cost whole µUSD. */
const PRICE = 7_000_000_000;
const priced = { ...env, STORAGE_MICROS_PER_GB_MONTH: String(PRICE) };
const HOUR = 3_600_000;

type Attempt = Awaited<ReturnType<typeof placed>>;

async function upload(attempt: Attempt, files: { path: string; bytes: Uint8Array }[]) {
  const named = await Promise.all(
    files.map(async (f) => ({
      output: 0,
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
    "SELECT path, size, created_at, json_extract(location, '$.key') AS key FROM job_outputs WHERE job_id = ? ORDER BY path",
  )
    .bind(jobId)
    .all<{ path: string; size: number; created_at: number; key: string }>();
  return results;
}

async function storageTransfers(jobId: string) {
  const { results } = await env.DB.prepare(
    "SELECT amount_micros, memo FROM ledger_transfers WHERE job_id = ? AND kind = 'storage' ORDER BY created_at, idempotency_key",
  )
    .bind(jobId)
    .all<{ amount_micros: number; memo: string }>();
  return results;
}

async function auditActions(accountId: string) {
  const { results } = await env.DB.prepare(
    "SELECT action, subject, details FROM audit_events WHERE account_id = ? AND action = 'outputs.deleted' ORDER BY at",
  )
    .bind(accountId)
    .all<{ action: string; subject: string; details: string }>();
  return results;
}

async function stored(jobId: string) {
  const rows = await rowsOf(jobId);
  const heads = await Promise.all(rows.map(async (r) => (await env.STORAGE.head(r.key))?.size ?? null));
  return { rows, heads, transfers: await storageTransfers(jobId) };
}

const filled = (size: number, value: number) => new Uint8Array(size).fill(value);

describe("DELETE /v1/jobs/:id/outputs", () => {
  afterEach(drainAgents);

  it("deletes one file by path, then the rest: objects gone, kept time charged, billing stopped, audited, idempotent", async () => {
    const { id: accountId, apiKey } = await signup();
    const attempt = await placed(apiKey, { outputs: [{ path: "/outputs" }] });
    await upload(attempt, [
      { path: "model.bin", bytes: filled(1000, 1) },
      { path: "metrics.json", bytes: filled(500, 2) },
    ]);
    const jobId = attempt.job.id;
    const [metrics, model] = await rowsOf(jobId);
    if (!metrics || !model) throw new Error("outputs not listed");
    const start = await balances();

    const one = await call(
      `/v1/jobs/${jobId}/outputs?path=${encodeURIComponent("/outputs/metrics.json")}`,
      authed(apiKey, "DELETE"),
    );
    expect(one.status).toBe(200);
    const oneBody = (await one.json()) as OutputsDeleted;
    expect(oneBody).toMatchObject({ jobId, files: 1, bytes: 500, objects: 1, keptInYourBucket: 0 });
    expect(oneBody.chargedMicros).toBeGreaterThanOrEqual(1);
    expect(await env.STORAGE.head(metrics.key)).toBeNull();
    expect(await env.STORAGE.head(model.key)).not.toBeNull();
    const listed = (await (await call(`/v1/jobs/${jobId}/outputs`, authed(apiKey))).json()) as {
      outputs: OutputView[];
    };
    expect(listed.outputs.map((o) => o.path)).toEqual(["/outputs/model.bin"]);
    expect(await storageTransfers(jobId)).toEqual([
      {
        amount_micros: oneBody.chargedMicros,
        memo: expect.stringMatching(/^output storage: 500 bytes for \d+ s$/),
      },
    ]);

    // The rest, an hour after the upload at the test price: 1,000 bytes × 1 h = 9.72 → 10 µUSD.
    const rest = await deleteOutputs(
      priced,
      { jobId, accountId },
      undefined,
      model.created_at + HOUR,
      () => [],
    );
    expect(rest).toEqual({
      jobId,
      files: 1,
      bytes: 1000,
      objects: 1,
      deletedInYourBucket: 0,
      keptInYourBucket: 0,
      chargedMicros: 10,
    });
    expect(outputChargeMicros([{ size: 1000, createdAt: 0 }], HOUR, PRICE)).toBe(10);
    expect(await env.STORAGE.head(model.key)).toBeNull();
    expect(await rowsOf(jobId)).toEqual([]);

    // Billing stopped: the expiry sweep 30 days on finds nothing to charge.
    await sweepExpiredOutputs(priced, model.created_at + 31 * 24 * HOUR, 100);
    const charged = await storageTransfers(jobId);
    expect(charged.map((t) => t.amount_micros)).toEqual([oneBody.chargedMicros, 10]);

    // Idempotent: again, all or by path, frees and charges nothing and records nothing more.
    for (const query of ["", `?path=${encodeURIComponent("/outputs/metrics.json")}`]) {
      const again = await call(`/v1/jobs/${jobId}/outputs${query}`, authed(apiKey, "DELETE"));
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({
        jobId,
        files: 0,
        bytes: 0,
        objects: 0,
        deletedInYourBucket: 0,
        keptInYourBucket: 0,
        chargedMicros: 0,
      });
    }
    expect(await storageTransfers(jobId)).toEqual(charged);
    const audit = await auditActions(accountId);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "outputs.deleted", subject: jobId });
    expect(JSON.parse(audit[0]?.details ?? "{}")).toEqual({
      path: "/outputs/metrics.json",
      files: 1,
      bytes: 500,
      deletedInYourBucket: 0,
      chargedMicros: oneBody.chargedMicros,
    });
    const end = await balances();
    const spent = oneBody.chargedMicros + 10;
    expect((start.get(`user:${accountId}`) ?? 0) - (end.get(`user:${accountId}`) ?? 0)).toBe(spent);
    expect(await ledgerSum()).toBe(0);
  });

  it("answers another account 404 and bad queries 400, with nothing stored changed", async () => {
    const { apiKey } = await signup();
    const other = await signup();
    const attempt = await placed(apiKey, { outputs: [{ path: "/outputs" }] });
    await upload(attempt, [{ path: "a.txt", bytes: filled(300, 3) }]);
    const jobId = attempt.job.id;
    const before = await stored(jobId);
    expect(before.heads).toEqual([300]);

    const foreign = await call(`/v1/jobs/${jobId}/outputs`, authed(other.apiKey, "DELETE"));
    expect(foreign.status).toBe(404);
    for (const query of ["?path=a.txt", "?path=", "?path=%2F", "?force=1", `?path=/${"x".repeat(1100)}`]) {
      const res = await call(`/v1/jobs/${jobId}/outputs${query}`, authed(apiKey, "DELETE"));
      expect(res.status, query).toBe(400);
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      expect(body.error?.code, query).toBeTypeOf("string");
    }
    const unauthenticated = await call(`/v1/jobs/${jobId}/outputs`, { method: "DELETE" });
    expect(unauthenticated.status).toBe(401);
    expect(await stored(jobId)).toEqual(before);
  });

  it("bills a replaced file's earlier upload for the time it was kept", async () => {
    const { apiKey } = await signup();
    const attempt = await placed(apiKey, { outputs: [{ path: "/outputs" }] });
    const jobId = attempt.job.id;
    await upload(attempt, [{ path: "model.bin", bytes: filled(1_000_000, 1) }]);
    // The first upload, as if made 30 days ago.
    const thirtyDays = 30 * 24 * HOUR;
    await env.DB.prepare("UPDATE job_outputs SET created_at = created_at - ? WHERE job_id = ?")
      .bind(thirtyDays, jobId)
      .run();
    const [first] = await rowsOf(jobId);
    if (!first) throw new Error("output not listed");
    expect(await storageTransfers(jobId)).toEqual([]);

    await upload(attempt, [{ path: "model.bin", bytes: filled(1_000_000, 2) }]);
    const [second] = await rowsOf(jobId);
    if (!second) throw new Error("replacement not listed");
    expect(second.created_at).toBeGreaterThan(first.created_at);
    const price = outputRetentionOf(env).microsPerGbMonth;
    const expected = storageChargeMicros(1_000_000, first.created_at, second.created_at, price);
    // 1 MB a month at the default $0.07/GB-month: 70 µUSD (71 with the test's few ms past the month).
    expect(expected).toBeGreaterThanOrEqual(70);
    expect(expected).toBeLessThanOrEqual(71);
    expect(await storageTransfers(jobId)).toEqual([
      {
        amount_micros: expected,
        memo: expect.stringMatching(/^output storage: 1000000 bytes for 259200\d s$/),
      },
    ]);
    // The new bytes are the ones kept and listed.
    const object = await env.STORAGE.get(second.key);
    expect(new Uint8Array((await object?.arrayBuffer()) ?? new ArrayBuffer(0))[0]).toBe(2);
  });
});
