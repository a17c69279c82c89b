import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { UsageReceipt } from "../../src/agent/usage-receipt.js";
import { meter } from "../../src/ledger/meter.js";
import type { AttemptReport } from "../../src/shared/agent-protocol.js";
import { publicKeyOf } from "../../src/shared/agent-signature.js";
import { checkReceiptOffline, type ReceiptView } from "../../src/shared/receipts/receipt-view.js";
import { gpuAttempt as placedGpuAttempt } from "./gpu-attempt-support.js";
import { authed, call, drainAgents, hardware, signup, submit, TestAgent } from "./support.js";

const OPERATOR = { authorization: "Bearer test-operator-token" };

async function runReceipts(): Promise<void> {
  const res = await call("/v1/operator/receipts/run", { method: "POST", headers: OPERATOR });
  expect(res.status).toBe(200);
}

async function receipt(id: string, apiKey: string): Promise<ReceiptView> {
  const res = await call(`/v1/receipts/${id}`, authed(apiKey));
  expect(res.status).toBe(200);
  return res.json();
}

async function usageRows(attemptId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM usage_signatures WHERE attempt_id = ?")
    .bind(attemptId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** A GPU node, one GPU job placed on it; its reports go through the agent's own usage receipt. */
const gpuAttempt = (n: number) => placedGpuAttempt(n, "7777");

describe("usage receipts the agent signs", () => {
  afterEach(drainAgents);

  it("carries the agent's signed statement on the charge receipt, countersigned, and verifies both", async () => {
    const { agent, a, apiKey } = await gpuAttempt(1);
    expect(a.pricePerGpuHourMicros).toBe(3_600_000);
    const signer = { secretKey: agent.secretKey, publicKeyBase58: await publicKeyOf(agent.secretKey) };
    const usage = new UsageReceipt(a, agent.nodeId, signer, false);
    const startedAt = Date.now() - 90_000;
    const send = async (body: AttemptReport) => agent.report(a.attemptId, await usage.stamp(body));
    expect(
      (await send({ type: "started", fencing: a.fencing, at: startedAt, containerId: "c" })).status,
    ).toBe(200);
    const exited = await send({
      type: "exited",
      fencing: a.fencing,
      at: startedAt + 90_000,
      exitCode: 0,
      reason: "completed",
    });
    expect(exited.status).toBe(200);
    expect(await usageRows(a.attemptId)).toBe(1);

    await runReceipts();
    const view = await receipt(a.attemptId, apiKey);
    if (view.receipt.kind !== "charge") throw new Error("not a charge receipt");
    expect(view.receipt.usage).toMatchObject({
      nodeKey: signer.publicKeyBase58,
      statement: {
        attemptId: a.attemptId,
        jobId: a.jobId,
        nodeId: agent.nodeId,
        startedAt,
        endedAt: startedAt + 90_000,
        gpus: 1,
        gpuSeconds: 90,
        pricePerGpuHourMicros: 3_600_000,
        amountMicros: 90_000,
      },
    });
    const checks = await checkReceiptOffline(view);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.find((c) => c.name === "agent")?.detail).toContain("90 GPU-seconds");
    expect(checks.find((c) => c.name === "region")?.detail).toContain("ed25519 by region eu-west's key");

    // A statement changed after the fact breaks all three signatures: the receipt's, the agent's and
    // the region's countersignature over it.
    const raised = structuredClone(view);
    if (raised.receipt.kind === "charge" && raised.receipt.usage)
      raised.receipt.usage.statement.gpuSeconds = 900;
    const failed = (await checkReceiptOffline(raised)).filter((c) => !c.ok).map((c) => c.name);
    expect(failed).toEqual(["leaf", "signature", "agent", "region", "proof"]);
  });

  it("a CPU-only attempt's statement prices its seconds at the node's own vCPU price, as its charge is", async () => {
    const { apiKey } = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([], 16, 65_536), { pricePerGpuHour: "0.00", pricePerVcpuHour: "0.02" });
    const created = await submit(apiKey, {
      name: "cpu-usage",
      image: "meridian/busybox:test",
      region: "eu-west",
      resources: { gpus: 0, cpus: 4, memoryGb: 8 },
      timeoutSeconds: 600,
    });
    expect(created.status).toBe(201);
    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    // 4 vCPUs at the node's 20,000 µUSD and 8 GiB at the table's 1,271: 90,168 µUSD an hour.
    expect(a.cpuHourMicros).toBe(90_168);
    const signer = { secretKey: agent.secretKey, publicKeyBase58: await publicKeyOf(agent.secretKey) };
    const usage = new UsageReceipt(a, agent.nodeId, signer, false);
    const startedAt = Date.now() - 90_000;
    const send = async (body: AttemptReport) => agent.report(a.attemptId, await usage.stamp(body));
    await send({ type: "started", fencing: a.fencing, at: startedAt, containerId: "c" });
    await send({
      type: "exited",
      fencing: a.fencing,
      at: startedAt + 90_000,
      exitCode: 0,
      reason: "completed",
    });

    await runReceipts();
    const view = await receipt(a.attemptId, apiKey);
    if (view.receipt.kind !== "charge") throw new Error("not a charge receipt");
    // 90 s × 90,168 / 3,600 = 2,254.2: stated rounded up, as the ledger charges. The receipt's own
    // charge is metered from the region's times at the same hourly price, by the same rule.
    expect(view.receipt.usage?.statement).toMatchObject({
      gpus: 0,
      cpuHourMicros: 90_168,
      amountMicros: 2_255,
    });
    expect(view.receipt.cpuHourMicros).toBe(90_168);
    const r = view.receipt;
    const rule = (startedAt: number | null, endedAt: number) =>
      meter({
        startedAt,
        endedAt,
        gpus: 0,
        pricePerGpuHourMicros: 0,
        cpuHourMicros: 90_168,
        mode: "per_second",
      }).amountMicros;
    expect(r.chargedMicros).toBe(rule(r.startedAt, r.endedAt));
    expect(rule(startedAt, startedAt + 90_000)).toBe(2_255);
    const checks = await checkReceiptOffline(view);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.find((c) => c.name === "agent")?.detail).toContain(
      "CPU-only at 90168 µUSD an hour, 2255 µUSD",
    );
  });

  it("keeps no statement signed by another key or about another attempt; the report still counts", async () => {
    const { agent, a } = await gpuAttempt(2);
    const stranger = new TestAgent();
    const foreign = {
      secretKey: stranger.secretKey,
      publicKeyBase58: await publicKeyOf(stranger.secretKey),
    };
    const forged = new UsageReceipt(a, agent.nodeId, foreign, false);
    await agent.start(a);
    const body = await forged.stamp({
      type: "exited",
      fencing: a.fencing,
      at: Date.now(),
      exitCode: 0,
      reason: "completed",
    });
    const res = await agent.report(a.attemptId, body);
    expect(res.status).toBe(200);
    expect(await usageRows(a.attemptId)).toBe(0);

    // This node takes no more work, so the next job goes to the next node.
    await agent.send("/v1/agent/poll", { running: [], acceptingWork: false, waitMs: 0 });
    const second = await gpuAttempt(3);
    const own = {
      secretKey: second.agent.secretKey,
      publicKeyBase58: await publicKeyOf(second.agent.secretKey),
    };
    // Signed by the right key, but about the first attempt.
    const elsewhere = new UsageReceipt(
      { ...second.a, attemptId: a.attemptId },
      second.agent.nodeId,
      own,
      false,
    );
    await second.agent.start(second.a);
    const misfiled = await elsewhere.stamp({
      type: "exited",
      fencing: second.a.fencing,
      at: Date.now(),
      exitCode: 0,
      reason: "completed",
    });
    expect((await second.agent.report(second.a.attemptId, misfiled)).status).toBe(200);
    expect(await usageRows(second.a.attemptId)).toBe(0);
    expect(await usageRows(a.attemptId)).toBe(0);
  });
});
