import { env } from "cloudflare:workers";
import * as ed from "@noble/ed25519";
import type { Signature } from "@solana/kit";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { chainConfig } from "../../src/chain/chain-config.js";
import { SolanaClient } from "../../src/chain/solana-client.js";
import { treasurySigner } from "../../src/chain/treasury.js";
import { CREDITS_ISSUER, earningsAccount } from "../../src/ledger/ledger-accounts.js";
import { runBatch } from "../../src/ledger/ledger-db.js";
import { transferStatements } from "../../src/ledger/transfer.js";
import { encodeBase58 } from "../../src/shared/base58.js";
import { newId } from "../../src/shared/ids.js";
import { checkAnchorOnChain } from "../../src/shared/receipts/anchor-check.js";
import { checkReceiptOffline, type ReceiptView } from "../../src/shared/receipts/receipt-view.js";
import { parsedTransaction } from "./chain-support.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  hardware,
  jsonInit,
  signup,
  submit,
  TestAgent,
} from "./support.js";

const OPERATOR = { authorization: "Bearer test-operator-token" };
const db = drizzle(env.DB);
const chain = new SolanaClient(env.SOLANA_RPC_URL);

interface RunView {
  minted: number;
  batches: number;
  anchored: number;
  pending: number;
}

async function runReceipts(): Promise<RunView> {
  const res = await call("/v1/operator/receipts/run", { method: "POST", headers: OPERATOR });
  expect(res.status).toBe(200);
  return res.json();
}

async function receipt(id: string, apiKey: string): Promise<ReceiptView> {
  const res = await call(`/v1/receipts/${id}`, authed(apiKey));
  expect(res.status).toBe(200);
  return res.json();
}

/** A CPU job run to success on a node owned by `owner`: one billable settlement. */
async function settledAttempt(userKey: string, agent: TestAgent): Promise<string> {
  const created = await submit(userKey, {
    name: "receipted",
    image: "meridian/busybox:test",
    region: "eu-west",
    resources: { gpus: 0, cpus: 2, memoryGb: 2 },
    timeoutSeconds: 600,
  });
  expect(created.status).toBe(201);
  const [a] = (await agent.poll()).assignments;
  if (!a) throw new Error("no assignment");
  await agent.start(a);
  await agent.exit(a);
  return a.attemptId;
}

/** A provider with a proven payout wallet and a node whose settled earnings are `micros`. */
async function paidProvider(micros: number): Promise<{ apiKey: string; nodeId: string }> {
  const account = await signup();
  const secret = ed.utils.randomSecretKey();
  const wallet = encodeBase58(await ed.getPublicKeyAsync(secret));
  const issued = (await (
    await call("/v1/provider/payout-wallet/challenge", jsonInit("POST", { address: wallet }, account.apiKey))
  ).json()) as { message: string };
  const signature = encodeBase58(await ed.signAsync(new TextEncoder().encode(issued.message), secret));
  const linked = await call(
    "/v1/provider/payout-wallet",
    jsonInit("PUT", { message: issued.message, signature }, account.apiKey),
  );
  expect(linked.status).toBe(200);
  const nodeId = newId("node");
  await env.DB.prepare("INSERT INTO node_owners (node_id, account_id, created_at) VALUES (?, ?, ?)")
    .bind(nodeId, account.id, Date.now())
    .run();
  await runBatch(
    db,
    transferStatements(db, {
      debit: CREDITS_ISSUER,
      credit: earningsAccount(nodeId),
      amountMicros: micros,
      kind: "credit_grant",
      idempotencyKey: `receipt-test-earnings:${nodeId}`,
    }),
  );
  return { apiKey: account.apiKey, nodeId };
}

// Each test runs jobs, a receipts run and an anchor on the chain: seconds on a loaded machine.
describe("receipts: signed, batched into a Merkle tree, anchored on the local chain", {
  timeout: 30_000,
}, () => {
  it("issues a receipt per settled attempt that anyone holding it can check, down to the chain", async () => {
    const user = await signup();
    const owner = await signup();
    const agent = new TestAgent();
    agent.ownerApiKey = owner.apiKey;
    await agent.register(hardware([], 8, 16_384), { pricePerGpuHour: "0.00" });
    const first = await settledAttempt(user.apiKey, agent);
    const second = await settledAttempt(user.apiKey, agent);
    await drainAgents();
    await expectError(await call(`/v1/receipts/${first}`, authed(user.apiKey)), 404, "receipt_not_found");

    const ran = await runReceipts();
    expect(ran.minted).toBeGreaterThanOrEqual(2);
    expect(ran.batches).toBeGreaterThanOrEqual(1);
    expect(ran.anchored).toBeGreaterThanOrEqual(1);
    expect(ran.pending).toBe(0);

    const view = await receipt(first, user.apiKey);
    const settlement = await env.DB.prepare("SELECT * FROM ledger_settlements WHERE attempt_id = ?")
      .bind(first)
      .first<{ charged_micros: number; provider_micros: number; cpu_hour_micros: number }>();
    expect(view.status).toBe("anchored");
    expect(view.receipt).toMatchObject({
      kind: "charge",
      attemptId: first,
      accountId: user.id,
      nodeId: agent.nodeId,
      chargedMicros: settlement?.charged_micros,
      providerMicros: settlement?.provider_micros,
      cpuHourMicros: 2 * 9_483 + 2 * 1_271,
    });
    expect(view.receipt.kind === "charge" && view.receipt.chargedMicros).toBeGreaterThan(0);
    const treasury = (await treasurySigner(chainConfig(env))).address;
    const checks = await checkReceiptOffline(view, treasury);
    expect(checks.map((check) => [check.name, check.ok])).toEqual([
      ["leaf", true],
      ["signature", true],
      ["signer", true],
      // A test agent that sends no usage statement: noted, not a failure (receipts-usage.test.ts).
      ["agent", true],
      // Nor a region countersignature, then (receipts-region.test.ts).
      ["region", true],
      ["proof", true],
      ["memo", true],
    ]);
    expect(await checkAnchorOnChain(view, env.SOLANA_RPC_URL)).toMatchObject({ name: "chain", ok: true });
    // Read with the chain's own parser too: the memo names the batch and its root.
    const anchored = await parsedTransaction(chain, view.anchor?.transaction as Signature);
    expect(anchored.memos).toEqual([
      `meridian-receipts-v1 ${view.proof?.batchId} ${view.proof?.root} ${view.proof?.leaves}`,
    ]);

    // The proof was stored when the batch was cut; a receipt batched before proofs were stored
    // (migration 0016) gets the same proof rebuilt from its batch.
    const stored = await env.DB.prepare("SELECT leaf_index AS i, proof FROM receipts WHERE subject_id = ?")
      .bind(first)
      .first<{ i: number; proof: string }>();
    expect(stored?.i).toBe(view.proof?.index);
    expect(JSON.parse(stored?.proof ?? "null")).toEqual(view.proof?.steps);
    await env.DB.prepare("UPDATE receipts SET leaf_index = NULL, proof = NULL WHERE subject_id = ?")
      .bind(first)
      .run();
    expect((await receipt(first, user.apiKey)).proof).toEqual(view.proof);

    // Both attempts are leaves of the same tree; the node's owner sees the receipt too.
    const other = await receipt(second, owner.apiKey);
    expect(other.proof?.root).toBe(view.proof?.root);
    expect(other.proof?.index).not.toBe(view.proof?.index);

    // A second run finds nothing new: no receipt twice, no second anchor.
    const again = await runReceipts();
    expect(again).toMatchObject({ minted: 0, batches: 0, anchored: 0 });
    expect((await receipt(first, user.apiKey)).anchor?.transaction).toBe(view.anchor?.transaction);
  });

  it("fails the checks of a receipt whose amount, proof or signer was changed", async () => {
    const user = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([], 8, 16_384), { pricePerGpuHour: "0.00" });
    const attempt = await settledAttempt(user.apiKey, agent);
    await drainAgents();
    await runReceipts();
    const view = await receipt(attempt, user.apiKey);
    if (view.receipt.kind !== "charge" || !view.proof) throw new Error("expected a batched charge receipt");

    const raised = { ...view, receipt: { ...view.receipt, chargedMicros: view.receipt.chargedMicros + 1 } };
    const raisedChecks = await checkReceiptOffline(raised);
    expect(raisedChecks.find((c) => c.name === "leaf")?.ok).toBe(false);
    expect(raisedChecks.find((c) => c.name === "signature")?.ok).toBe(false);

    const forged = { ...view, proof: { ...view.proof, root: "0".repeat(64) } };
    expect((await checkReceiptOffline(forged)).find((c) => c.name === "proof")?.ok).toBe(false);
    expect((await checkAnchorOnChain(forged, env.SOLANA_RPC_URL)).ok).toBe(false);
    expect((await checkReceiptOffline(forged)).find((c) => c.name === "memo")?.ok).toBe(false);

    const stranger = encodeBase58(await ed.getPublicKeyAsync(ed.utils.randomSecretKey()));
    expect((await checkReceiptOffline(view, stranger)).find((c) => c.name === "signer")?.ok).toBe(false);
    const resigned = { ...view, signer: stranger };
    expect((await checkReceiptOffline(resigned)).find((c) => c.name === "signature")?.ok).toBe(false);
    expect((await checkAnchorOnChain(resigned, env.SOLANA_RPC_URL)).ok).toBe(false);
  });

  it("issues a receipt for a paid payout, naming its transfer", async () => {
    const provider = await paidProvider(11_000_000);
    const paid = await call("/v1/operator/payouts/run", { method: "POST", headers: OPERATOR });
    expect(paid.status).toBe(200);
    const payout = await env.DB.prepare("SELECT id, signature, amount_micros FROM payouts WHERE node_id = ?")
      .bind(provider.nodeId)
      .first<{ id: string; signature: string; amount_micros: number }>();
    if (!payout) throw new Error("no payout");
    await runReceipts();
    const view = await receipt(payout.id, provider.apiKey);
    expect(view.status).toBe("anchored");
    expect(view.receipt).toMatchObject({
      kind: "payout",
      payoutId: payout.id,
      amountMicros: 11_000_000,
      transaction: payout.signature,
    });
    expect((await checkReceiptOffline(view)).every((check) => check.ok)).toBe(true);
    expect((await checkAnchorOnChain(view, env.SOLANA_RPC_URL)).ok).toBe(true);
  });

  it("shows a receipt only to the accounts it concerns, and refuses bad ids", async () => {
    const user = await signup();
    const stranger = await signup();
    const agent = new TestAgent();
    await agent.register(hardware([], 8, 16_384), { pricePerGpuHour: "0.00" });
    const attempt = await settledAttempt(user.apiKey, agent);
    await drainAgents();
    await runReceipts();
    await expectError(
      await call(`/v1/receipts/${attempt}`, authed(stranger.apiKey)),
      404,
      "receipt_not_found",
    );
    await expectError(await call("/v1/receipts/not-an-id", authed(user.apiKey)), 400, "invalid_request");
    await expectError(
      await call(`/v1/receipts/job_${"a".repeat(26)}`, authed(user.apiKey)),
      400,
      "invalid_request",
    );
    expect((await call(`/v1/receipts/${attempt}`)).status).toBe(401);
    const refused = await call("/v1/operator/receipts/run", {
      method: "POST",
      headers: authed(user.apiKey).headers,
    });
    expect(refused.status).toBe(403);
  });
});
