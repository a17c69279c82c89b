import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { refundNodeFaults } from "../../src/worker/fault-refunds.js";
import {
  attemptsOf,
  DIGEST,
  dispute,
  earnings,
  hourly,
  lastJob,
  reputationScore,
  runOn,
} from "./charge-disputes-support.js";
import { ledgerSum } from "./ledger-support.js";
import {
  authed,
  balance,
  call,
  drainAgents,
  expectError,
  h100Numbered,
  hardware,
  jobOf,
  ownedAgent,
  signup,
  submit,
} from "./support.js";

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
    expect(await ledgerSum()).toBe(0);
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
    expect(swept).toContainEqual({
      attemptId: failed.attemptId,
      nodeId: bad.agent.nodeId,
      cause: "same_spec_succeeded_elsewhere",
    });
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
    expect(await ledgerSum()).toBe(0);
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
    expect(await ledgerSum()).toBe(0);
  });
});
