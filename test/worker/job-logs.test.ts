import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { sweepExpiredLogs } from "../../src/worker/storage/log-store.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  hardware,
  jobOf,
  signup,
  submit,
  TestAgent,
} from "./support.js";

const spec = { name: "logs", image: "meridian/busybox:test", command: ["true"], region: "eu-west" };

async function running(apiKey: string) {
  const agent = new TestAgent();
  await agent.register(hardware());
  const job = (await (await submit(apiKey, spec)).json()) as { id: string };
  const a = (await agent.poll()).assignments.find((x) => x.jobId === job.id);
  if (!a) throw new Error("no assignment");
  await agent.start(a);
  const ship = async (data: string, stream: "stdout" | "stderr" = "stdout") => {
    const res = await agent.report(a.attemptId, {
      type: "logs",
      fencing: a.fencing,
      chunks: [{ stream, data, at: Date.now() }],
    });
    if (res.status !== 200) throw new Error(`logs answered ${res.status}: ${await res.text()}`);
  };
  return { agent, job, a, ship };
}

/** Reads the stream until `until` holds for the text so far (or the stream ends). */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, until: (text: string) => boolean) {
  const decoder = new TextDecoder();
  let text = "";
  while (!until(text)) {
    const { done, value } = await reader.read();
    if (done) return { text, done: true };
    text += decoder.decode(value, { stream: true });
  }
  return { text, done: false };
}

describe("logs in R2 chunk objects", () => {
  afterEach(drainAgents);

  it("stores each batch as an R2 object with only its index in D1, and serves them in order", async () => {
    const { apiKey } = await signup();
    const { job, a, agent, ship } = await running(apiKey);
    let expected = "";
    for (let i = 0; i < 30; i++) {
      const line = `line ${i} ${"é".repeat(i)}\n`;
      await ship(line, i % 3 === 0 ? "stderr" : "stdout");
      expected += line;
    }
    const index = await env.DB.prepare(
      "SELECT seq, key, bytes, stdout_bytes, stderr_bytes FROM log_chunks WHERE job_id = ? ORDER BY seq",
    )
      .bind(job.id)
      .all<{ seq: number; key: string; bytes: number; stdout_bytes: number; stderr_bytes: number }>();
    expect(index.results.map((r) => r.seq)).toEqual([...Array(30).keys()].map((i) => i + 1));
    const first = index.results[0];
    expect(first?.key).toBe(`logs/${job.id}/${a.attemptId}/0000000001`);
    expect(await (await env.STORAGE.get(first?.key ?? ""))?.text()).toBe("line 0 \n");
    const encoded = new TextEncoder().encode(expected).length;
    expect(index.results.reduce((sum, r) => sum + r.bytes, 0)).toBe(encoded);
    expect(index.results.reduce((sum, r) => sum + r.stdout_bytes + r.stderr_bytes, 0)).toBe(encoded);
    // No text in D1 any more.
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM job_logs WHERE job_id = ?")
      .bind(job.id)
      .first();
    expect(rows).toMatchObject({ n: 0 });

    expect(await (await call(`/v1/jobs/${job.id}/logs`, authed(apiKey))).text()).toBe(expected);
    expect(await (await call(`/v1/jobs/${job.id}/logs?attempt=${a.attemptId}`, authed(apiKey))).text()).toBe(
      expected,
    );
    expect(await (await call(`/v1/jobs/${job.id}/logs?attempt=att_other`, authed(apiKey))).text()).toBe("");
    const file = await call(`/v1/jobs/${job.id}/logs?download=1`, authed(apiKey));
    expect(file.headers.get("content-disposition")).toBe(`attachment; filename="${job.id}.log"`);
    expect(await file.text()).toBe(expected);
    await expectError(
      await call(`/v1/jobs/${job.id}/logs?download=maybe`, authed(apiKey)),
      400,
      "invalid_request",
    );
    await agent.exit(a);
  });

  it("follows by push: what was stored first, then each batch as it arrives, ending with the job", async () => {
    const { apiKey } = await signup();
    const { job, a, agent, ship } = await running(apiKey);
    await ship("before\n");
    const res = await call(`/v1/jobs/${job.id}/logs?follow=1`, authed(apiKey));
    const reader = res.body?.getReader();
    if (!reader) throw new Error("no body");
    expect((await readUntil(reader, (t) => t.includes("before\n"))).text).toBe("before\n");
    await ship("during 1\n");
    expect((await readUntil(reader, (t) => t.includes("during 1\n"))).text).toBe("during 1\n");
    await ship("during 2\n", "stderr");
    expect((await readUntil(reader, (t) => t.includes("during 2\n"))).text).toBe("during 2\n");
    await agent.exit(a);
    // The job left its region: the stream ends, nothing sent twice.
    expect(await readUntil(reader, () => false)).toEqual({ text: "", done: true });
    expect((await jobOf(apiKey, job.id)).status).toBe("succeeded");
    expect(await (await call(`/v1/jobs/${job.id}/logs?follow=1`, authed(apiKey))).text()).toBe(
      "before\nduring 1\nduring 2\n",
    );
  });

  it("keeps logs for the retention after the job ends, then deletes the objects and their index", async () => {
    const { apiKey } = await signup();
    const { job, a, agent, ship } = await running(apiKey);
    await ship("kept for a while\n");
    await agent.exit(a);
    const key = (
      await env.DB.prepare("SELECT key FROM log_chunks WHERE job_id = ?")
        .bind(job.id)
        .first<{ key: string }>()
    )?.key;
    // Within the retention (30 days by default) the sweep leaves them alone.
    await sweepExpiredLogs(env, Date.now());
    expect(await env.STORAGE.head(key ?? "")).not.toBeNull();
    expect(await (await call(`/v1/jobs/${job.id}/logs`, authed(apiKey))).text()).toBe("kept for a while\n");

    const ended = Date.now() - 31 * 86_400_000;
    await env.DB.prepare("UPDATE jobs SET ended_at = ? WHERE id = ?").bind(ended, job.id).run();
    expect((await sweepExpiredLogs(env, Date.now())).chunks).toBeGreaterThanOrEqual(1);
    expect(await env.STORAGE.head(key ?? "")).toBeNull();
    const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM log_chunks WHERE job_id = ?")
      .bind(job.id)
      .first();
    expect(left).toMatchObject({ n: 0 });
    await expectError(await call(`/v1/jobs/${job.id}/logs`, authed(apiKey)), 410, "logs_expired");
  });
});
