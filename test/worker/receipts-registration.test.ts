import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { recordJudgement } from "../../src/chain/judgement-records.js";
import { checkAnchorOnChain } from "../../src/shared/receipts/anchor-check.js";
import { RegistrationReceipt } from "../../src/shared/receipts/receipt.js";
import { checkReceiptOffline, type ReceiptView } from "../../src/shared/receipts/receipt-view.js";
import type { VerificationJudgement } from "../../src/shared/verification/messages.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  h100Numbered,
  hardware,
  ownedAgent,
  signup,
} from "./support.js";

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

async function registrationsOf(nodeId: string): Promise<string[]> {
  const rows = await env.DB.prepare(
    "SELECT id FROM node_registrations WHERE node_id = ? ORDER BY created_at, id",
  )
    .bind(nodeId)
    .all<{ id: string }>();
  return rows.results.map((r) => r.id);
}

describe("node registrations anchored on chain", () => {
  afterEach(drainAgents);

  it("records each registration, signs and anchors it like a receipt, and shows it to the node's owner", async () => {
    const { agent, apiKey } = await ownedAgent(hardware([h100Numbered(9_500), h100Numbered(9_501)]));
    const [first] = await registrationsOf(agent.nodeId);
    if (!first) throw new Error("no registration recorded");
    await runReceipts();
    const view = await receipt(first, apiKey);
    const registration = RegistrationReceipt.parse(view.receipt);
    expect(registration).toMatchObject({
      kind: "registration",
      registrationId: first,
      nodeId: agent.nodeId,
      region: "eu-west",
      verifiedTflops: null,
      gpus: [
        { uuid: h100Numbered(9_500).uuid, model: "H100-SXM", vramMib: h100Numbered(9_500).vramMib },
        { uuid: h100Numbered(9_501).uuid, model: "H100-SXM", vramMib: h100Numbered(9_501).vramMib },
      ],
    });
    expect(view.status).toBe("anchored");
    expect((await checkReceiptOffline(view)).filter((c) => !c.ok)).toEqual([]);
    expect(await checkAnchorOnChain(view, env.SOLANA_RPC_URL)).toMatchObject({ name: "chain", ok: true });

    // The agent restarts and registers again: a second record; the node id asks for the latest.
    await agent.register(hardware([h100Numbered(9_500), h100Numbered(9_501)]));
    const ids = await registrationsOf(agent.nodeId);
    expect(ids).toHaveLength(2);
    await runReceipts();
    const latest = await receipt(agent.nodeId, apiKey);
    expect(latest.id).toBe(ids[1]);
    expect((await checkReceiptOffline(latest)).filter((c) => !c.ok)).toEqual([]);
    // Nobody else's: another account gets 404, as for any receipt.
    const stranger = await signup();
    await expectError(await call(`/v1/receipts/${first}`, authed(stranger.apiKey)), 404, "receipt_not_found");
    await expectError(
      await call(`/v1/receipts/${agent.nodeId}`, authed(stranger.apiKey)),
      404,
      "receipt_not_found",
    );
  });

  it("records the verified TFLOP/s a passed verification measured, and orders a slash for a lie", async () => {
    const node = {
      id: "node_0000000000000000000000test",
      publicKey: "11111111111111111111111111111111",
      region: "eu-west",
      hardware: hardware([h100Numbered(9_502)]),
      pricePerGpuHourMicros: 2_000_000,
      labels: {},
      agentVersion: "test",
      runtime: "docker" as const,
      registeredAt: 1_000,
    };
    const owed: { registrations: RegistrationReceipt[]; slashes: unknown[] } = {
      registrations: [],
      slashes: [],
    };
    const records = {
      nodes: new Map([[node.id, node]]),
      orderSlash: (order: unknown) => owed.slashes.push(order),
      recordRegistration: (record: RegistrationReceipt) => owed.registrations.push(record),
    };
    const judgement = (outcome: "verified" | "rejected", code?: string): VerificationJudgement =>
      ({
        challengeId: "vch_x",
        nodeId: node.id,
        gpuUuid: h100Numbered(9_502).uuid,
        model: "H100-SXM",
        outcome,
        reasons: code ? [{ code, message: code }] : [],
        judgedAt: 2_000,
      }) as VerificationJudgement;
    recordJudgement(
      records,
      {
        desk: { status: () => ({ outcome: "verified", lastVerifiedAt: 2_000 }) },
        verifiedTflops: () => 781.5,
      },
      judgement("verified"),
      2_000,
    );
    expect(owed.registrations).toMatchObject([{ nodeId: node.id, verifiedTflops: 781.5, at: 2_000 }]);
    expect(owed.slashes).toEqual([]);
    recordJudgement(
      records,
      {
        desk: { status: () => ({ outcome: "rejected", lastVerifiedAt: 2_000 }) },
        verifiedTflops: () => 781.5,
      },
      judgement("rejected", "digest_mismatch"),
      3_000,
    );
    expect(owed.registrations).toHaveLength(1);
    expect(owed.slashes).toMatchObject([{ evidence: `verification:${node.id}:2000`, nodeId: node.id }]);
  });
});
