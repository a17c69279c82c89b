import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { StorageGrant } from "../../src/shared/storage/agent-storage-protocol.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  hardware,
  jobOf,
  jsonInit,
  signup,
  submit,
  TestAgent,
} from "./support.js";

const spec = {
  name: "train",
  image: "meridian/busybox:test",
  command: ["sh", "-c", "sleep 600"],
  region: "eu-west",
  resources: { cpus: 2 },
  checkpoint: { path: "/meridian/checkpoint", intervalSeconds: 10 },
};

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return [...digest].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function eventsOf(apiKey: string, id: string): Promise<{ status: string; reason: string | null }[]> {
  const res = await call(`/v1/jobs/${id}/events`, authed(apiKey));
  return ((await res.json()) as { events: { status: string; reason: string | null }[] }).events;
}

const post = (apiKey: string, body?: string): RequestInit => ({
  method: "POST",
  headers: { authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
  ...(body === undefined ? {} : { body }),
});

/** A job running on a fresh node (its whole CPU), its container started. */
async function runningJob(apiKey: string, extra: Record<string, unknown> = {}) {
  const agent = new TestAgent();
  await agent.register(hardware([], 2, 4096));
  const res = await submit(apiKey, { ...spec, ...extra });
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
  const job = (await res.json()) as { id: string };
  const a = (await agent.poll()).assignments.find((x) => x.jobId === job.id);
  if (!a) throw new Error("no assignment");
  await agent.start(a);
  return { agent, job, a };
}

describe("pause and resume", () => {
  afterEach(drainAgents);

  it("refuses a pause or resume that does not apply, with 4xx and nothing changed", async () => {
    const { apiKey } = await signup();
    const bare = await runningJob(apiKey, { checkpoint: undefined });
    const before = await eventsOf(apiKey, bare.job.id);
    await expectError(await call(`/v1/jobs/${bare.job.id}/pause`, post(apiKey, "")), 422, "no_checkpoint");
    await drainAgents();

    const { job, a, agent } = await runningJob(apiKey);
    const id = job.id;
    await expectError(await call(`/v1/jobs/${id}/resume`, post(apiKey, "")), 409, "job_not_paused");
    for (const [body, status, code] of [
      ['{"keepForSeconds":5}', 400, "invalid_request"],
      ['{"keepForSeconds":"long"}', 400, "invalid_request"],
      ['{"keep":60}', 400, "invalid_request"],
      ["{not json", 400, "invalid_json"],
      ['{"keepForSeconds":999999999}', 422, "keep_too_long"],
    ] as const) {
      await expectError(await call(`/v1/jobs/${id}/pause`, post(apiKey, body)), status, code);
    }
    await expectError(await call("/v1/jobs/job_nope/pause", post(apiKey, "")), 404, "job_not_found");
    const other = await signup();
    await expectError(await call(`/v1/jobs/${id}/pause`, post(other.apiKey, "")), 404, "job_not_found");
    await expectError(await call(`/v1/jobs/${id}/resume`, post(other.apiKey, "")), 404, "job_not_found");
    expect(await jobOf(apiKey, id)).toMatchObject({ status: "running" });
    expect((await eventsOf(apiKey, id)).map((e) => e.status)).toEqual(["queued", "assigned", "running"]);
    expect((await eventsOf(apiKey, bare.job.id)).length).toBe(before.length);
    // Nothing told the node to stop.
    expect((await agent.poll([{ attemptId: a.attemptId, fencing: a.fencing }])).stop).toEqual([]);

    // A finished job cannot be paused, nor resumed.
    await agent.exit(a, 0);
    await expectError(await call(`/v1/jobs/${id}/pause`, post(apiKey, "")), 409, "job_finished");
    await expectError(await call(`/v1/jobs/${id}/resume`, post(apiKey, "")), 409, "job_finished");
  });

  it("pauses: SIGTERM, checkpoint synced, GPUs freed, GPU time settled; resumes on another node from the checkpoint; storage billed", async () => {
    const { apiKey } = await signup();
    const { agent, job, a } = await runningJob(apiKey);
    const id = job.id;

    const paused = await call(`/v1/jobs/${id}/pause`, post(apiKey, '{"keepForSeconds":3600}'));
    expect(paused.status).toBe(202);
    expect(await paused.json()).toMatchObject({
      status: "running",
      reason: expect.stringMatching(/^pausing/),
    });
    // Asked twice: the first request stands.
    expect((await call(`/v1/jobs/${id}/pause`, post(apiKey))).status).toBe(202);
    expect((await agent.poll([{ attemptId: a.attemptId, fencing: a.fencing }])).stop).toEqual([
      { attemptId: a.attemptId, reason: "paused" },
    ]);
    await expectError(await call(`/v1/jobs/${id}/resume`, post(apiKey)), 409, "job_pausing");

    // The container writes its checkpoint in the grace period; the agent's last sync commits it.
    const send = async (path: string, body: Record<string, unknown>) =>
      agent.send(`/v1/agent/attempts/${a.attemptId}/storage/${path}`, { fencing: a.fencing, ...body });
    const state = new TextEncoder().encode("step=41\n");
    const blob = { sha256: await sha256Hex(state), size: state.length };
    const { uploads } = (await (await send("checkpoint/blobs", { blobs: [blob] })).json()) as {
      uploads: { url: string }[];
    };
    for (const upload of uploads)
      await exports.default.fetch(new Request(upload.url, { method: "PUT", body: state }));
    expect(
      (await send("checkpoint/commit", { files: [{ path: "state", ...blob, mode: 0o644 }] })).status,
    ).toBe(200);
    expect((await agent.exit(a, 143, "cancelled")).status).toBe(200);

    const view = await jobOf(apiKey, id);
    expect(view).toMatchObject({ status: "paused" });
    // What is kept is the 8-byte blob and its manifest, byte for byte as R2 holds them.
    const held = (await env.STORAGE.list({ prefix: `checkpoints/${id}/` })).objects.reduce(
      (sum, object) => sum + object.size,
      0,
    );
    expect(held).toBeGreaterThan(8);
    expect(view.reason).toContain(`checkpoint 1 (${held} bytes) is kept until`);
    await expectError(await call(`/v1/jobs/${id}/pause`, post(apiKey)), 409, "job_paused");
    const attempt = await env.DB.prepare("SELECT outcome FROM job_attempts WHERE id = ?")
      .bind(a.attemptId)
      .first();
    expect(attempt).toMatchObject({ outcome: "cancelled" });
    const settled = await env.DB.prepare("SELECT outcome FROM ledger_settlements WHERE attempt_id = ?")
      .bind(a.attemptId)
      .first();
    expect(settled).toMatchObject({ outcome: "cancelled" });
    // The GPUs (here: the node's CPUs) are free: another job takes them while this one is paused.
    const filler = (await (await submit(apiKey, { ...spec, checkpoint: undefined })).json()) as {
      id: string;
    };
    const taken = (await agent.poll()).assignments.find((x) => x.jobId === filler.id);
    expect(taken).toBeDefined();

    // Resumed: the original node is full, so it goes to another that fits.
    const other = new TestAgent();
    await other.register(hardware([], 2, 4096));
    const resumed = await call(`/v1/jobs/${id}/resume`, post(apiKey));
    expect(resumed.status).toBe(200);
    const next = (await other.poll()).assignments.find((x) => x.jobId === id);
    if (!next) throw new Error(`not placed again: ${JSON.stringify(await jobOf(apiKey, id))}`);
    expect(next.env.MERIDIAN_ATTEMPT).toBe("2");
    const grant = (await (
      await other.send(`/v1/agent/attempts/${next.attemptId}/storage/grant`, { fencing: next.fencing })
    ).json()) as StorageGrant;
    expect(grant.checkpoint?.restore?.seq).toBe(1);
    expect(grant.checkpoint?.restore?.files.map((f) => f.path)).toEqual(["state"]);
    expect((await eventsOf(apiKey, id)).map((e) => e.status)).toEqual([
      "queued",
      "assigned",
      "running",
      "running",
      "paused",
      "queued",
      "assigned",
    ]);

    // The paused period's storage was charged from the account's balance, once.
    const storage = await env.DB.prepare(
      "SELECT amount_micros, kind, memo FROM ledger_transfers WHERE job_id = ? AND kind = 'storage'",
    )
      .bind(id)
      .all<{ amount_micros: number; memo: string }>();
    expect(storage.results).toHaveLength(1);
    expect(storage.results[0]?.amount_micros).toBeGreaterThanOrEqual(1);
    expect(storage.results[0]?.memo).toMatch(new RegExp(`^checkpoint storage: ${held} bytes for \\d+ s$`));
    // The job's cost counts it, on top of the GPU time settled.
    const gpu = await env.DB.prepare(
      "SELECT SUM(charged_micros) AS micros FROM ledger_settlements WHERE job_id = ?",
    )
      .bind(id)
      .first<{ micros: number }>();
    const shown = (await (await call(`/v1/jobs/${id}`, authed(apiKey))).json()) as {
      cost: { chargedMicros: number };
    };
    expect(shown.cost.chargedMicros).toBe((gpu?.micros ?? 0) + (storage.results[0]?.amount_micros ?? 0));
    // Neither job may take the next test's node.
    for (const done of [id, filler.id]) await call(`/v1/jobs/${done}/cancel`, authed(apiKey, "POST"));
  });

  it("cancels a paused job (it held no checkpoint, so no storage is charged)", async () => {
    const { apiKey } = await signup();
    const { agent, job, a } = await runningJob(apiKey);
    expect((await call(`/v1/jobs/${job.id}/pause`, jsonInit("POST", {}, apiKey))).status).toBe(202);
    await agent.exit(a, 0, "cancelled");
    expect((await jobOf(apiKey, job.id)).status).toBe("paused");
    const res = await call(`/v1/jobs/${job.id}/cancel`, authed(apiKey, "POST"));
    expect(await res.json()).toMatchObject({ status: "cancelled" });
    const storage = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM ledger_transfers WHERE job_id = ? AND kind = 'storage'",
    )
      .bind(job.id)
      .first<{ n: number }>();
    // No checkpoint was committed: nothing is stored, nothing charged.
    expect(storage?.n).toBe(0);
    await expectError(await call(`/v1/jobs/${job.id}/resume`, post(apiKey)), 409, "job_finished");
  });
});
