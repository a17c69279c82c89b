import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { refundNodeFaults } from "../../src/worker/fault-refunds.js";
import {
  authed,
  balance,
  call,
  drainAgents,
  expectError,
  h100Numbered,
  hardware,
  jobOf,
  jsonInit,
  ownedAgent,
  signup,
  submit,
  type TestAgent,
} from "./support.js";

const OPERATOR = { authorization: "Bearer test-operator-token" };
const DIGEST = `sha256:${"ab".repeat(32)}`;

/** An hourly job: without per-second early failures, a failure at once would cost a whole hour. */
const hourly = {
  name: "hourly",
  image: "meridian/busybox:test",
  command: ["sh", "-c", "exit 1"],
  region: "eu-west",
  resources: { gpus: 1 },
  maxPricePerGpuHour: "2.00",
  timeoutSeconds: 3600,
  billing: { mode: "hourly" },
};

interface Attempt {
  id: string;
  nodeId: string;
  outcome: string | null;
  containerId: string | null;
  imageDigest: string | null;
  startedAt: string | null;
  charge: { billingMode: string; billableSeconds: number; chargedMicros: number } | null;
  refund: { cause: string; refundedMicros: number; unrecoveredMicros: number } | null;
  dispute: { id: string; state: string } | null;
}

async function sumOfAllAccounts(): Promise<number> {
  const row = await env.DB.prepare(
    "SELECT COALESCE(SUM(balance_micros), 0) AS s FROM ledger_accounts",
  ).first<{
    s: number;
  }>();
  return row?.s ?? Number.NaN;
}

async function earnings(nodeId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT balance_micros AS b FROM ledger_accounts WHERE id = ?")
    .bind(`earnings:${nodeId}`)
    .first<{ b: number }>();
  return row?.b ?? 0;
}

async function counts(): Promise<{ disputes: number; refunds: number; transfers: number }> {
  const row = await env.DB.prepare(
    `SELECT (SELECT count(*) FROM charge_disputes) AS disputes, (SELECT count(*) FROM attempt_refunds) AS refunds,
       (SELECT count(*) FROM ledger_transfers) AS transfers`,
  ).first<{ disputes: number; refunds: number; transfers: number }>();
  if (!row) throw new Error("no counts");
  return row;
}

async function attemptsOf(apiKey: string, jobId: string): Promise<Attempt[]> {
  const res = await call(`/v1/jobs/${jobId}/attempts`, authed(apiKey));
  expect(res.status).toBe(200);
  return ((await res.json()) as { attempts: Attempt[] }).attempts;
}

/** Submits `spec`, has `agent` take it, report the start (with `digest`), and exit with `exitCode`. */
async function runOn(
  agent: TestAgent,
  apiKey: string,
  spec: unknown,
  exitCode: number,
  digest: string | null = DIGEST,
): Promise<{ jobId: string; attemptId: string }> {
  const res = await submit(apiKey, spec);
  expect(res.status).toBe(201);
  const jobId = ((await res.json()) as { id: string }).id;
  const [a] = (await agent.poll()).assignments;
  if (!a) throw new Error("no assignment");
  const started = await agent.report(a.attemptId, {
    type: "started",
    fencing: a.fencing,
    at: Date.now(),
    containerId: `ctr-${a.attemptId}`,
    ...(digest ? { imageDigest: digest } : {}),
  });
  expect(started.status).toBe(200);
  expect((await agent.exit(a, exitCode)).status).toBe(200);
  return { jobId, attemptId: a.attemptId };
}

function dispute(
  apiKey: string,
  jobId: string,
  attemptId: string,
  body: unknown = { reason: "it failed at once" },
) {
  return call(`/v1/jobs/${jobId}/attempts/${attemptId}/dispute`, jsonInit("POST", body, apiKey));
}

// Several signed round trips a test: the 5 s default is too tight on a loaded 2-core machine.
describe("charges a provider cannot fake", { timeout: 30_000 }, () => {
  afterEach(drainAgents);

  it("charges an hourly job that fails at once per second, records what ran, and never pays a node's own fault", async () => {
    const user = await signup();
    const { agent } = await ownedAgent(hardware([h100Numbered(901)]));
    const failed = await runOn(agent, user.apiKey, hourly, 1);
    expect((await jobOf(user.apiKey, failed.jobId)).status).toBe("failed");
    const [attempt] = await attemptsOf(user.apiKey, failed.jobId);
    expect(attempt).toMatchObject({
      id: failed.attemptId,
      nodeId: agent.nodeId,
      outcome: "failed",
      containerId: `ctr-${failed.attemptId}`,
      imageDigest: DIGEST,
      charge: { billingMode: "hourly" },
    });
    // Seconds at 2.00/h, not the 2,000,000 µUSD of a started hour.
    const seconds = attempt?.charge?.billableSeconds ?? 0;
    expect(seconds).toBeGreaterThanOrEqual(1);
    expect(seconds).toBeLessThan(60);
    expect(attempt?.charge?.chargedMicros).toBe(Math.ceil((seconds * 2_000_000) / 3600));

    // The node's side fails a running container (the engine lost it): neither charged nor paid.
    const before = await earnings(agent.nodeId);
    const res = await submit(user.apiKey, { ...hourly, command: ["true"] });
    const jobId = ((await res.json()) as { id: string }).id;
    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    await agent.start(a);
    await agent.report(a.attemptId, {
      type: "exited",
      fencing: a.fencing,
      at: Date.now(),
      exitCode: null,
      reason: "error",
      message: "the container engine lost the container",
    });
    const [faulted] = await attemptsOf(user.apiKey, jobId);
    expect(faulted).toMatchObject({ outcome: "node_fault", charge: { chargedMicros: 0 } });
    // The node's fault sends the job back to the queue (for another node): cancelled here, so
    // that the later tests' nodes do not take it.
    expect((await jobOf(user.apiKey, jobId)).status).toBe("queued");
    expect((await call(`/v1/jobs/${jobId}/cancel`, authed(user.apiKey, "POST"))).status).toBe(200);
    expect(await earnings(agent.nodeId)).toBe(before);
    expect(await sumOfAllAccounts()).toBe(0);
  });

  it("refuses a started report with a malformed image digest, changing nothing", async () => {
    const user = await signup();
    const { agent } = await ownedAgent(hardware([h100Numbered(902)]));
    const res = await submit(user.apiKey, { ...hourly, command: ["sh", "-c", "echo digest-902"] });
    const jobId = ((await res.json()) as { id: string }).id;
    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    const bad = await agent.report(a.attemptId, {
      type: "started",
      fencing: a.fencing,
      at: Date.now(),
      containerId: "c",
      imageDigest: "sha256:not-hex",
    });
    expect(bad.status).toBe(400);
    expect((await jobOf(user.apiKey, jobId)).status).toBe("assigned");
    await agent.exit(a, 0);
  });

  it("refunds an early failure once the same spec succeeds on another node, and counts it against the node", async () => {
    const user = await signup();
    const bad = await ownedAgent(hardware([h100Numbered(903)]));
    const spec = { ...hourly, command: ["sh", "-c", "echo same-spec-903"] };
    const startBalance = (await balance(user.apiKey)).availableMicros;
    const failed = await runOn(bad.agent, user.apiKey, spec, 1);
    const [charged] = await attemptsOf(user.apiKey, failed.jobId);
    const chargedMicros = charged?.charge?.chargedMicros ?? 0;
    expect(chargedMicros).toBeGreaterThan(0);
    expect(await earnings(bad.agent.nodeId)).toBeGreaterThan(0);
    // Nothing to refund yet: no other node has run the spec.
    expect((await refundNodeFaults(env)).map((r) => r.attemptId)).not.toContain(failed.attemptId);
    const scoreBefore = await reputationScore(bad.apiKey, bad.agent.nodeId);

    await bad.agent.send("/v1/agent/poll", { running: [], acceptingWork: false, waitMs: 0 });
    const good = await ownedAgent(hardware([h100Numbered(904)]));
    await runOn(good.agent, user.apiKey, { ...spec }, 0);

    const swept = await refundNodeFaults(env);
    expect(swept).toContainEqual({ attemptId: failed.attemptId, nodeId: bad.agent.nodeId });
    expect(await refundNodeFaults(env)).toEqual([]);
    const [refunded] = await attemptsOf(user.apiKey, failed.jobId);
    expect(refunded?.refund).toMatchObject({
      cause: "same_spec_succeeded_elsewhere",
      refundedMicros: chargedMicros,
      unrecoveredMicros: 0,
    });
    expect(await earnings(bad.agent.nodeId)).toBe(0);
    // The job's cost and the usage report are net of the refund.
    const view = (await (await call(`/v1/jobs/${failed.jobId}`, authed(user.apiKey))).json()) as {
      cost: { chargedMicros: number };
    };
    expect(view.cost.chargedMicros).toBe(0);
    const day = new Date().toISOString().slice(0, 10);
    const usage = (await (
      await call(
        `/v1/usage?from=${day}&to=${new Date(Date.now() + 86_400_000).toISOString()}&groupBy=job`,
        authed(user.apiKey),
      )
    ).json()) as { rows: { key: string; chargedMicros: number }[] };
    expect(usage.rows.find((row) => row.key === failed.jobId)?.chargedMicros).toBe(0);
    // The user paid only for the success.
    const goodCharge =
      (await attemptsOf(user.apiKey, (await lastJob(user.apiKey)).id))[0]?.charge?.chargedMicros ?? 0;
    expect((await balance(user.apiKey)).availableMicros).toBe(startBalance - goodCharge);
    expect(await sumOfAllAccounts()).toBe(0);
    // The refund is in the user's ledger, as a reversal of the charge.
    const ledger = (await (await call("/v1/ledger", authed(user.apiKey))).json()) as {
      entries: { kind: string; attemptId: string | null }[];
    };
    expect(ledger.entries.filter((e) => e.attemptId === failed.attemptId).map((e) => e.kind)).toEqual(
      expect.arrayContaining(["refund_provider", "refund_fee"]),
    );
    expect(await reputationScore(bad.apiKey, bad.agent.nodeId)).toBeLessThan(scoreBefore);
    await expectError(await dispute(user.apiKey, failed.jobId, failed.attemptId), 409, "already_refunded");
  });

  it("refunds a disputed charge at once when the agent never said what it ran", async () => {
    const user = await signup();
    const { agent } = await ownedAgent(hardware([h100Numbered(905)]));
    const ran = await runOn(agent, user.apiKey, { ...hourly, command: ["true"] }, 0, null);
    const res = await dispute(user.apiKey, ran.jobId, ran.attemptId);
    expect(res.status).toBe(201);
    const body = (await res.json()) as { state: string; decidedBy: string; refund: { cause: string } };
    expect(body).toMatchObject({
      state: "refunded",
      decidedBy: "rule",
      refund: { cause: "no_run_evidence" },
    });
    expect(await earnings(agent.nodeId)).toBe(0);
    expect(await sumOfAllAccounts()).toBe(0);
  });

  it("leaves a dispute the evidence does not settle to the operator, who refunds or rejects it once", async () => {
    const user = await signup();
    const { agent } = await ownedAgent(hardware([h100Numbered(906)]));
    const first = await runOn(agent, user.apiKey, { ...hourly, command: ["sh", "-c", "exit 3"] }, 3);
    const second = await runOn(agent, user.apiKey, { ...hourly, command: ["sh", "-c", "exit 4"] }, 4);
    const opened = await dispute(user.apiKey, first.jobId, first.attemptId, {
      reason: "the GPU was not there",
    });
    expect(opened.status).toBe(201);
    const view = (await opened.json()) as { id: string; state: string; refund: unknown };
    expect(view).toMatchObject({ state: "open", refund: null });
    const other = (await (await dispute(user.apiKey, second.jobId, second.attemptId)).json()) as {
      id: string;
    };

    const queue = (await (await call("/v1/operator/disputes?state=open", { headers: OPERATOR })).json()) as {
      disputes: { id: string }[];
    };
    expect(queue.disputes.map((d) => d.id)).toEqual(expect.arrayContaining([view.id, other.id]));

    const before = (await balance(user.apiKey)).availableMicros;
    const decided = await call(`/v1/operator/disputes/${view.id}/decision`, {
      ...jsonInit("POST", { decision: "refund", note: "logs show the GPU fell off the bus" }),
      headers: { ...OPERATOR, "content-type": "application/json" },
    });
    expect(decided.status).toBe(200);
    const refunded = (await decided.json()) as { state: string; refund: { refundedMicros: number } };
    expect(refunded.state).toBe("refunded");
    expect(refunded.refund.refundedMicros).toBeGreaterThan(0);
    expect((await balance(user.apiKey)).availableMicros).toBe(before + refunded.refund.refundedMicros);

    const rejected = await call(`/v1/operator/disputes/${other.id}/decision`, {
      method: "POST",
      headers: { ...OPERATOR, "content-type": "application/json" },
      body: JSON.stringify({ decision: "reject", note: "the container exited 4 by itself" }),
    });
    expect(((await rejected.json()) as { state: string }).state).toBe("rejected");

    // A decided dispute stays decided: nothing moves on a second decision.
    const stored = await counts();
    const again = await call(`/v1/operator/disputes/${other.id}/decision`, {
      method: "POST",
      headers: { ...OPERATOR, "content-type": "application/json" },
      body: JSON.stringify({ decision: "refund", note: "changed my mind" }),
    });
    await expectError(again, 409, "dispute_decided");
    expect(await counts()).toEqual(stored);
    const shown = (await (
      await call(`/v1/jobs/${second.jobId}/attempts/${second.attemptId}/dispute`, authed(user.apiKey))
    ).json()) as {
      state: string;
    };
    expect(shown.state).toBe("rejected");
    expect(await sumOfAllAccounts()).toBe(0);
  });

  it("refuses bad disputes and decisions with a clear reason, storing nothing", async () => {
    const user = await signup();
    const stranger = await signup();
    const { agent } = await ownedAgent(hardware([h100Numbered(907)]));
    const ran = await runOn(agent, user.apiKey, { ...hourly, command: ["sh", "-c", "exit 7"] }, 7);
    const stored = await counts();
    await expectError(await dispute(stranger.apiKey, ran.jobId, ran.attemptId), 404, "job_not_found");
    await expectError(await dispute(user.apiKey, ran.jobId, "att_nope"), 404, "attempt_not_found");
    await expectError(
      await dispute(user.apiKey, ran.jobId, "att_01jf0000000000000000000000"),
      404,
      "attempt_not_found",
    );
    await expectError(
      await dispute(user.apiKey, ran.jobId, ran.attemptId, { reason: "  " }),
      400,
      "invalid_request",
    );
    await expectError(
      await dispute(user.apiKey, ran.jobId, ran.attemptId, { reason: "x", refund: "all" }),
      400,
      "invalid_request",
    );
    await expectError(await dispute(user.apiKey, ran.jobId, ran.attemptId, "{not json"), 400, "invalid_json");
    const plain = await call(`/v1/jobs/${ran.jobId}/attempts/${ran.attemptId}/dispute`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.apiKey}`, "content-type": "text/plain" },
      body: "refund me",
    });
    await expectError(plain, 415, "unsupported_media_type");
    await expectError(
      await call("/v1/operator/disputes/dsp_01jf0000000000000000000000/decision", {
        method: "POST",
        headers: { ...OPERATOR, "content-type": "application/json" },
        body: JSON.stringify({ decision: "refund", note: "x" }),
      }),
      404,
      "dispute_not_found",
    );
    await expectError(
      await call("/v1/operator/disputes?state=maybe", { headers: OPERATOR }),
      400,
      "invalid_request",
    );
    await expectError(await call("/v1/operator/disputes", authed(user.apiKey)), 403, "operator_only");
    expect(await counts()).toEqual(stored);

    // Past the window: the attempt ended 8 days ago.
    await env.DB.prepare("UPDATE job_attempts SET ended_at = ended_at - ? WHERE id = ?")
      .bind(8 * 86_400_000, ran.attemptId)
      .run();
    await expectError(await dispute(user.apiKey, ran.jobId, ran.attemptId), 409, "dispute_window_closed");
    expect(await counts()).toEqual(stored);

    // An attempt that charged nothing (lost to its node) has nothing to dispute.
    const lostRes = await submit(user.apiKey, hourly);
    const lostJob = ((await lostRes.json()) as { id: string }).id;
    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    await agent.start(a);
    await agent.report(a.attemptId, {
      type: "exited",
      fencing: a.fencing,
      at: Date.now(),
      exitCode: null,
      reason: "error",
    });
    const afterFault = await counts();
    await expectError(await dispute(user.apiKey, lostJob, a.attemptId), 409, "nothing_charged");
    expect(await counts()).toEqual(afterFault);

    // The second dispute of the same attempt.
    const once = await runOn(agent, user.apiKey, { ...hourly, command: ["sh", "-c", "exit 8"] }, 8);
    expect((await dispute(user.apiKey, once.jobId, once.attemptId)).status).toBe(201);
    const afterFirst = await counts();
    await expectError(await dispute(user.apiKey, once.jobId, once.attemptId), 409, "already_disputed");
    expect(await counts()).toEqual(afterFirst);
  });
});

async function lastJob(apiKey: string): Promise<{ id: string }> {
  const list = (await (await call("/v1/jobs?limit=1", authed(apiKey))).json()) as { jobs: { id: string }[] };
  const [job] = list.jobs;
  if (!job) throw new Error("no job");
  return job;
}

async function reputationScore(apiKey: string, nodeId: string): Promise<number> {
  const res = await call(`/v1/provider/nodes/${nodeId}`, authed(apiKey));
  expect(res.status).toBe(200);
  return ((await res.json()) as { reputation: { score: number } }).reputation.score;
}
