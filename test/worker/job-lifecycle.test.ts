import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import {
  authed,
  call,
  drainAgents,
  expectError,
  H100,
  hardware,
  jobOf,
  signup,
  submit,
  TestAgent,
} from "./support.js";

const spec = { name: "train", image: "meridian/busybox:test", command: ["echo", "hi"], region: "eu-west" };

describe("a job's life on a node", () => {
  afterEach(drainAgents);
  it("is placed, runs, ships logs and succeeds, with each transition recorded once", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([H100]));
    const created = (await (
      await submit(apiKey, { ...spec, env: { GREETING: "hello" }, resources: { gpus: 1 } })
    ).json()) as {
      id: string;
    };

    const { assignments } = await agent.poll();
    expect(assignments).toHaveLength(1);
    const a = assignments[0];
    if (!a) throw new Error("no assignment");
    expect(a.jobId).toBe(created.id);
    expect(a.gpuUuids).toEqual([H100.uuid]);
    expect(a.env).toMatchObject({ GREETING: "hello", MERIDIAN_JOB_ID: created.id, MERIDIAN_ATTEMPT: "1" });
    expect((await jobOf(apiKey, created.id)).status).toBe("assigned");

    // An assignment the agent has taken up (listed as running) is not handed out again.
    expect((await agent.poll([{ attemptId: a.attemptId, fencing: a.fencing }])).assignments).toHaveLength(0);

    expect((await agent.start(a)).status).toBe(200);
    expect((await jobOf(apiKey, created.id)).status).toBe("running");
    await agent.report(a.attemptId, {
      type: "logs",
      fencing: a.fencing,
      chunks: [
        { stream: "stdout", data: "hello\n", at: Date.now() },
        { stream: "stderr", data: "warn\n", at: Date.now() },
      ],
    });
    const done = await agent.exit(a);
    expect(await done.json()).toEqual({ accepted: true, stop: true });

    const job = await jobOf(apiKey, created.id);
    expect(job).toMatchObject({ status: "succeeded", exitCode: 0, nodeId: agent.nodeId, attempts: 1 });
    expect(await (await call(`/v1/jobs/${created.id}/logs`, authed(apiKey))).text()).toBe("hello\nwarn\n");
    const follow = await call(`/v1/jobs/${created.id}/logs?follow=1`, authed(apiKey));
    expect(await follow.text()).toBe("hello\nwarn\n");

    const events = (await (await call(`/v1/jobs/${created.id}/events`, authed(apiKey))).json()) as {
      events: { status: string; seq: number }[];
    };
    expect(events.events.map((e) => e.status)).toEqual(["queued", "assigned", "running", "succeeded"]);
    expect(events.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);

    // Late reports for the finished attempt are refused and change nothing.
    const late = await agent.exit(a, 1);
    await expectError(late, 409, "stale_lease");
    expect((await jobOf(apiKey, created.id)).status).toBe("succeeded");

    const attempts = await env.DB.prepare("SELECT * FROM job_attempts WHERE job_id = ?")
      .bind(created.id)
      .all();
    expect(attempts.results).toMatchObject([{ outcome: "succeeded", exit_code: 0, fencing: a.fencing }]);
  });

  it("records a failing command as failed with its exit code", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware());
    const { id } = (await (await submit(apiKey, spec)).json()) as { id: string };
    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    await agent.start(a);
    await agent.exit(a, 3);
    expect(await jobOf(apiKey, id)).toMatchObject({
      status: "failed",
      exitCode: 3,
      reason: "exited with code 3",
    });
    await expectError(await call(`/v1/jobs/${id}/cancel`, authed(apiKey, "POST")), 409, "job_finished");
  });

  it("keeps a job no node can satisfy queued, saying why", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([H100]));
    const res = await submit(apiKey, { ...spec, resources: { gpus: 4 }, timeoutSeconds: 600 });
    const job = (await res.json()) as { id: string; status: string; reason: string };
    expect(job.status).toBe("queued");
    expect(job.reason).toMatch(
      /none of the \d+ node\(s\) can take this job .*binding constraint: gpuCount; nearest fix: lower gpus to 1/,
    );
    const explanation = (
      job as unknown as { explanation: { binding: string; failing: Record<string, number> } }
    ).explanation;
    expect(explanation.binding).toBe("gpuCount");
    expect(explanation.failing.gpuCount).toBeGreaterThanOrEqual(1);
    expect((await agent.poll()).assignments.filter((x) => x.jobId === job.id)).toHaveLength(0);
    const cheap = (await (
      await submit(apiKey, { ...spec, resources: { gpus: 1 }, maxPricePerGpuHour: "0.50" })
    ).json()) as { reason: string };
    expect(cheap.reason).toMatch(/binding constraint: price.*raise maxPricePerGpuHour to 2(\.00)?/);
  });

  it("cancels a queued job at once, and a running one by telling its node to stop", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([], 2, 4096));
    const first = (await (await submit(apiKey, { ...spec, resources: { cpus: 2 } })).json()) as {
      id: string;
    };
    const second = (await (await submit(apiKey, { ...spec, resources: { cpus: 2 } })).json()) as {
      id: string;
    };
    expect((await jobOf(apiKey, second.id)).reason).toMatch(/waiting for capacity: 1 matching node/);

    const queuedCancel = await call(`/v1/jobs/${second.id}/cancel`, authed(apiKey, "POST"));
    expect(await queuedCancel.json()).toMatchObject({ status: "cancelled" });

    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    await agent.start(a);
    expect(await (await call(`/v1/jobs/${first.id}/cancel`, authed(apiKey, "POST"))).json()).toMatchObject({
      status: "cancelled",
    });
    const orders = await agent.poll([{ attemptId: a.attemptId, fencing: a.fencing }]);
    expect(orders.stop).toEqual([{ attemptId: a.attemptId, reason: "cancelled" }]);
    // Cancelling twice is harmless; the exit report is still accepted and frees the node.
    expect((await call(`/v1/jobs/${first.id}/cancel`, authed(apiKey, "POST"))).status).toBe(409);
    const exit = await agent.exit(a, 137, "cancelled");
    expect(exit.status).toBe(200);
    expect((await jobOf(apiKey, first.id)).status).toBe("cancelled");
    const events = (await (await call(`/v1/jobs/${first.id}/events`, authed(apiKey))).json()) as {
      events: { status: string }[];
    };
    expect(events.events.map((e) => e.status)).toEqual(["queued", "assigned", "running", "cancelled"]);
  });

  it("never shows one account's jobs to another", async () => {
    const alice = await signup();
    const bob = await signup();
    const { id } = (await (await submit(alice.apiKey, spec)).json()) as { id: string };
    await expectError(await call(`/v1/jobs/${id}`, authed(bob.apiKey)), 404, "job_not_found");
    await expectError(await call(`/v1/jobs/${id}/logs`, authed(bob.apiKey)), 404, "job_not_found");
    await expectError(await call(`/v1/jobs/${id}/events`, authed(bob.apiKey)), 404, "job_not_found");
    await expectError(await call(`/v1/jobs/${id}/cancel`, authed(bob.apiKey, "POST")), 404, "job_not_found");
    const list = (await (await call("/v1/jobs", authed(bob.apiKey))).json()) as { jobs: unknown[] };
    expect(list.jobs).toHaveLength(0);
    expect((await jobOf(alice.apiKey, id)).status).not.toBe("cancelled");
  });

  it("lists nodes with their GPUs and price but not their keys", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([H100]), { labels: { site: "lab-1" } });
    const res = (await (await call("/v1/nodes", authed(apiKey))).json()) as {
      nodes: Record<string, unknown>[];
    };
    const node = res.nodes.find((n) => n.id === agent.nodeId);
    expect(node).toMatchObject({
      region: "eu-west",
      status: "online",
      gpus: [{ index: 0, model: "H100-SXM", name: "NVIDIA H100 80GB HBM3", vramGb: 79.6 }],
      pricePerGpuHour: "2.00",
      labels: { site: "lab-1" },
    });
    expect(JSON.stringify(res)).not.toContain("publicKey");
  });

  it("pages job lists newest first", async () => {
    const { apiKey } = await signup();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(((await (await submit(apiKey, { ...spec, region: "us-west" })).json()) as { id: string }).id);
    const page1 = (await (await call("/v1/jobs?limit=2", authed(apiKey))).json()) as {
      jobs: { id: string }[];
      nextCursor: string;
    };
    expect(page1.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    const page2 = (await (
      await call(`/v1/jobs?limit=2&cursor=${page1.nextCursor}`, authed(apiKey))
    ).json()) as { jobs: { id: string }[]; nextCursor: string | null };
    expect(page2.jobs.map((j) => j.id)).toEqual([ids[0]]);
    expect(page2.nextCursor).toBeNull();
  });
});
