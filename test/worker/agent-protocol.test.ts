import { abortAllDurableObjects } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { SIGNATURE_HEADERS } from "../../src/shared/agent-signature.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  expireLeases,
  H100,
  hardware,
  jobOf,
  signup,
  submit,
  TestAgent,
} from "./support.js";

const spec = { name: "work", image: "meridian/busybox:test", command: ["sleep", "60"], region: "eu-west" };

/** Ends a lost job's retry backoff now, and runs the sweep that places it again. */

async function nodeCount(): Promise<number> {
  return (await env.DB.prepare("SELECT COUNT(*) AS n FROM nodes").first<{ n: number }>())?.n ?? 0;
}

describe("agent authentication", () => {
  afterEach(drainAgents);

  it("registers a signed agent, and the same key again as the same node", async () => {
    const agent = new TestAgent();
    const first = await agent.register(hardware([H100]));
    expect(first.nodeId).toMatch(/^node_[0-9a-z]{26}$/);
    expect(first.region).toBe("eu-west");
    expect(first.pollWaitMs).toBeLessThanOrEqual(20_000);
    const again = await agent.register(hardware([H100]));
    expect(again.nodeId).toBe(first.nodeId);
    const row = await env.DB.prepare("SELECT * FROM nodes WHERE id = ?")
      .bind(first.nodeId)
      .first<{ gpu_count: number }>();
    expect(row?.gpu_count).toBe(1);
  });

  it("refuses unsigned, forged, tampered, replayed and stale requests, storing nothing", async () => {
    const before = await nodeCount();
    const body = { hardware: hardware(), pricePerGpuHour: "1.00", agentVersion: "t", runtime: "docker" };
    await expectError(
      await call("/v1/agent/register", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }),
      401,
      "unsigned_request",
    );

    const honest = new TestAgent();
    const mallory = new TestAgent();
    // Mallory signs with her key but claims the honest agent's public key.
    const forged = await mallory.signedRequest("/v1/agent/register", body);
    const honestKey =
      (await honest.signedRequest("/v1/agent/register", body)).headers.get(SIGNATURE_HEADERS.publicKey) ?? "";
    const forgedHeaders = new Headers(forged.headers);
    forgedHeaders.set(SIGNATURE_HEADERS.publicKey, honestKey);
    await expectError(
      await exports.default.fetch(
        new Request(forged.url, { method: "POST", headers: forgedHeaders, body: JSON.stringify(body) }),
      ),
      401,
      "bad_signature",
    );

    // A body changed after signing.
    const signed = await honest.signedRequest("/v1/agent/register", body);
    await expectError(
      await exports.default.fetch(
        new Request(signed.url, {
          method: "POST",
          headers: signed.headers,
          body: JSON.stringify({ ...body, pricePerGpuHour: "0.01" }),
        }),
      ),
      401,
      "bad_signature",
    );

    // A timestamp outside the window.
    const stale = await honest.signedRequest("/v1/agent/register", body, {
      timestamp: Date.now() - 10 * 60_000,
    });
    await expectError(await exports.default.fetch(stale), 401, "stale_signature");
    expect(await nodeCount()).toBe(before);

    // The same signed request twice: the second is a replay.
    const once = await honest.signedRequest("/v1/agent/register", { ...body, region: "eu-west" });
    const replay = once.clone();
    const first = await exports.default.fetch(once);
    if (first.status === 401) {
      // A Region object that just started refuses signatures older than itself; that is not a replay.
      const fresh = await honest.signedRequest("/v1/agent/register", { ...body, region: "eu-west" });
      const copy = fresh.clone();
      expect((await exports.default.fetch(fresh)).status).toBe(200);
      await expectError(await exports.default.fetch(copy), 401, "replayed_request");
    } else {
      expect(first.status).toBe(200);
      await expectError(await exports.default.fetch(replay), 401, "replayed_request");
    }
    await honest.register(hardware());
  });

  it("refuses polls from an unregistered node and malformed agent bodies", async () => {
    const stranger = new TestAgent();
    stranger.nodeId = "node_00000000000000000000000000";
    stranger.region = "eu-west";
    await expectError(await stranger.send("/v1/agent/poll", { running: [] }), 401, "unknown_node");
    const agent = new TestAgent();
    await agent.register(hardware());
    await expectError(await agent.send("/v1/agent/poll", { running: "all" }), 400, "invalid_request");
    await expectError(
      await agent.send("/v1/agent/attempts/att_nope/report", { type: "started" }),
      400,
      "invalid_request",
    );
    const liar = new TestAgent();
    await expectError(
      await liar.send("/v1/agent/register", {
        hardware: { gpus: [], cpus: -4 },
        pricePerGpuHour: "1",
        agentVersion: "x",
        runtime: "docker",
      }),
      400,
      "invalid_request",
    );
  });
});

describe("leases and fencing", () => {
  afterEach(drainAgents);

  it("refuses a report with a stale fencing number", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([H100]));
    const { id } = (await (await submit(apiKey, { ...spec, resources: { gpus: 1 } })).json()) as {
      id: string;
    };
    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    await expectError(
      await agent.report(a.attemptId, {
        type: "started",
        fencing: a.fencing + 1,
        at: Date.now(),
        containerId: "c",
      }),
      409,
      "stale_lease",
    );
    // Another node cannot report on this attempt either.
    const other = new TestAgent();
    await other.register(hardware());
    await expectError(await other.start(a), 409, "stale_lease");
    expect((await jobOf(apiKey, id)).status).toBe("assigned");
    await agent.exit(a);
  });

  it("marks a silent node's attempt lost, places the job elsewhere and refuses the old attempt's reports", async () => {
    const { apiKey } = await signup();
    const silent = new TestAgent();
    await silent.register(hardware([H100]));
    const { id } = (await (await submit(apiKey, { ...spec, resources: { gpus: 1 } })).json()) as {
      id: string;
    };
    const old = (await silent.poll()).assignments.find((a) => a.jobId === id);
    if (!old) throw new Error("no assignment");
    await silent.start(old);

    const rescuer = new TestAgent();
    await rescuer.register(hardware([{ ...H100, uuid: "GPU-bbbbbbbb-0000-0000-0000-000000000000" }]));
    await expireLeases([old.attemptId]);
    // The first retry after a lost attempt waits for nothing: it is placed again at once.

    const fresh = (await rescuer.poll()).assignments.find((a) => a.jobId === id);
    if (!fresh) throw new Error("the job was not placed again");
    expect(fresh.jobId).toBe(id);
    expect(fresh.fencing).toBeGreaterThan(old.fencing);
    expect(fresh.env.MERIDIAN_ATTEMPT).toBe("2");
    expect(await jobOf(apiKey, id)).toMatchObject({
      status: "assigned",
      attempts: 2,
      nodeId: rescuer.nodeId,
    });

    // The silent node comes back: its report is refused and its poll tells it to stop the old attempt.
    await expectError(await silent.exit(old), 409, "stale_lease");
    const back = await silent.poll([{ attemptId: old.attemptId, fencing: old.fencing }]);
    expect(back.stop).toEqual([{ attemptId: old.attemptId, reason: "unknown_attempt" }]);

    await rescuer.start(fresh);
    await rescuer.exit(fresh);
    expect((await jobOf(apiKey, id)).status).toBe("succeeded");
    const events = (await (await call(`/v1/jobs/${id}/events`, authed(apiKey))).json()) as {
      events: { status: string }[];
    };
    expect(events.events.map((e) => e.status)).toEqual([
      "queued",
      "assigned",
      "running",
      "lost",
      "queued",
      "assigned",
      "running",
      "succeeded",
    ]);
    const attempts = await env.DB.prepare(
      "SELECT outcome FROM job_attempts WHERE job_id = ? ORDER BY fencing",
    )
      .bind(id)
      .all();
    expect(attempts.results).toEqual([{ outcome: "lost" }, { outcome: "succeeded" }]);
  });

  it("ends a job lost when its retries are spent", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware());
    const { id } = (await (await submit(apiKey, { ...spec, maxRetries: 0 })).json()) as { id: string };
    const [only] = (await agent.poll()).assignments;
    if (!only) throw new Error("no assignment");
    await expireLeases([only.attemptId]);
    expect(await jobOf(apiKey, id)).toMatchObject({ status: "lost" });
  });

  it("keeps inventory, queue and leases across a restart of the Region object", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([], 1, 2048));
    const running = (await (await submit(apiKey, spec)).json()) as { id: string };
    const waiting = (await (await submit(apiKey, spec)).json()) as { id: string };
    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    await agent.start(a);

    await abortAllDurableObjects();

    // The lease survived: the running attempt reports and finishes; the queued job is placed next.
    const renewed = await agent.poll([{ attemptId: a.attemptId, fencing: a.fencing }]);
    expect(renewed.stop).toEqual([]);
    await agent.exit(a);
    expect((await jobOf(apiKey, running.id)).status).toBe("succeeded");
    const [next] = (await agent.poll()).assignments;
    expect(next?.jobId).toBe(waiting.id);
  });
});
