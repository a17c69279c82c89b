import { afterEach, describe, expect, it } from "vitest";
import { refundSubject } from "../../src/shared/receipts/receipt.js";
import { checkReceiptOffline, type ReceiptView } from "../../src/shared/receipts/receipt-view.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  h100Numbered,
  hardware,
  jsonInit,
  ownedAgent,
  signup,
  submit,
} from "./support.js";

const OPERATOR = { authorization: "Bearer test-operator-token" };
const DIGEST = `sha256:${"a".repeat(64)}`;

async function runReceipts(): Promise<void> {
  const res = await call("/v1/operator/receipts/run", { method: "POST", headers: OPERATOR });
  expect(res.status).toBe(200);
}

async function receipt(id: string, apiKey: string): Promise<ReceiptView> {
  const res = await call(`/v1/receipts/${id}`, authed(apiKey));
  expect(res.status).toBe(200);
  return res.json();
}

describe("refund receipts", () => {
  afterEach(drainAgents);

  it("issues a signed receipt for a refund, beside the charge it gives back", async () => {
    const user = await signup();
    const { agent, apiKey: ownerKey } = await ownedAgent(hardware([h100Numbered(9_400)]));
    const created = await submit(user.apiKey, {
      name: "refunded",
      image: "meridian/busybox:test",
      command: ["sh", "-c", "exit 3"],
      region: "eu-west",
      resources: { gpus: 1 },
      maxPricePerGpuHour: "2.00",
      timeoutSeconds: 3600,
      billing: { mode: "hourly" },
    });
    expect(created.status).toBe(201);
    const jobId = ((await created.json()) as { id: string }).id;
    const [a] = (await agent.poll()).assignments;
    if (!a) throw new Error("no assignment");
    const started = await agent.report(a.attemptId, {
      type: "started",
      fencing: a.fencing,
      at: Date.now(),
      containerId: `ctr-${a.attemptId}`,
      imageDigest: DIGEST,
    });
    expect(started.status).toBe(200);
    expect((await agent.exit(a, 3)).status).toBe(200);

    const opened = await call(
      `/v1/jobs/${jobId}/attempts/${a.attemptId}/dispute`,
      jsonInit("POST", { reason: "the GPU was not there" }, user.apiKey),
    );
    expect(opened.status).toBe(201);
    const { id: disputeId } = (await opened.json()) as { id: string };
    const decided = await call(`/v1/operator/disputes/${disputeId}/decision`, {
      ...jsonInit("POST", { decision: "refund", note: "the GPU fell off the bus" }),
      headers: { ...OPERATOR, "content-type": "application/json" },
    });
    expect(decided.status).toBe(200);
    const { refund } = (await decided.json()) as { refund: { refundedMicros: number } };
    expect(refund.refundedMicros).toBeGreaterThan(0);

    const id = refundSubject(a.attemptId);
    // Not minted until the receipts run.
    await expectError(await call(`/v1/receipts/${id}`, authed(user.apiKey)), 404, "receipt_not_found");
    await runReceipts();
    const view = await receipt(id, user.apiKey);
    expect(view.receipt).toMatchObject({
      kind: "refund",
      attemptId: a.attemptId,
      jobId,
      accountId: user.id,
      nodeId: agent.nodeId,
      cause: "operator_decision",
      disputeId,
      refundedMicros: refund.refundedMicros,
    });
    expect((await checkReceiptOffline(view)).filter((c) => !c.ok)).toEqual([]);
    // The charge it gives back keeps its own receipt; the node's owner sees both.
    const charge = await receipt(a.attemptId, ownerKey);
    expect(charge.receipt.kind).toBe("charge");
    expect((await receipt(id, ownerKey)).leafHash).toBe(view.leafHash);
    // Minted once, however often the run goes.
    await runReceipts();
    expect((await receipt(id, user.apiKey)).signature).toBe(view.signature);
  });
});
