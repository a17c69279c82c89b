import { env } from "cloudflare:workers";
import * as ed from "@noble/ed25519";
import { type Address, address, type Signature } from "@solana/kit";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { chainConfig } from "../../src/chain/chain-config.js";
import { type PayoutStep, runPayouts } from "../../src/chain/payouts/payout-runner.js";
import { MAX_SEND_REFUSALS } from "../../src/chain/sending/durable-send.js";
import { MAX_TRANSACTION_BYTES, SolanaClient } from "../../src/chain/solana-client.js";
import { associatedTokenAddress } from "../../src/chain/token-instructions.js";
import { treasurySigner } from "../../src/chain/treasury.js";
import { CREDITS_ISSUER, earningsAccount } from "../../src/ledger/ledger-accounts.js";
import { runBatch } from "../../src/ledger/ledger-db.js";
import { transferStatements } from "../../src/ledger/transfer.js";
import { encodeBase58 } from "../../src/shared/base58.js";
import { newId } from "../../src/shared/ids.js";
import { parsedTransaction, tokenBalance } from "./chain-support.js";
import { authed, call, expectError, jsonInit, signup } from "./support.js";

const OPERATOR = { authorization: "Bearer test-operator-token" };
const db = drizzle(env.DB);
const chain = new SolanaClient(env.SOLANA_RPC_URL);
const config = chainConfig(env);

interface Provider {
  accountId: string;
  apiKey: string;
  wallet: Address;
}

/** A provider account with a payout wallet linked through the API's signed-message proof. */
async function provider(): Promise<Provider> {
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
  return { accountId: account.id, apiKey: account.apiKey, wallet: address(wallet) };
}

/** A node of the provider with settled earnings of `micros` in its earnings account. */
async function nodeEarning(owner: Provider, micros: number): Promise<string> {
  const accountId = owner.accountId;
  const nodeId = newId("node");
  await env.DB.prepare("INSERT INTO node_owners (node_id, account_id, created_at) VALUES (?, ?, ?)")
    .bind(nodeId, accountId, Date.now())
    .run();
  await runBatch(
    db,
    transferStatements(db, {
      debit: CREDITS_ISSUER,
      credit: earningsAccount(nodeId),
      amountMicros: micros,
      kind: "credit_grant",
      idempotencyKey: `test-earnings:${nodeId}`,
    }),
  );
  return nodeId;
}

async function walletUsdc(wallet: Address): Promise<bigint> {
  const ata = await associatedTokenAddress(wallet, config.usdcMint);
  if (!(await chain.rpc.getAccountInfo(ata, { commitment: "confirmed", encoding: "base64" }).send()).value)
    return 0n;
  return tokenBalance(chain, ata);
}

/** Transactions that touched the wallet's USDC account: one per payout, if exactly once holds. */
async function transfersTo(wallet: Address): Promise<Signature[]> {
  const ata = await associatedTokenAddress(wallet, config.usdcMint);
  const found = await chain.rpc.getSignaturesForAddress(ata, { commitment: "confirmed" }).send();
  return found.filter((s) => s.err === null).map((s) => s.signature);
}

async function earningsOf(nodeId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT balance_micros AS b FROM ledger_accounts WHERE id = ?")
    .bind(`earnings:${nodeId}`)
    .first<{ b: number }>();
  return row?.b ?? 0;
}

async function run(afterStep?: (step: PayoutStep) => void, claim = true) {
  return runPayouts({
    db,
    chain,
    treasury: await treasurySigner(config),
    usdcMint: config.usdcMint,
    minMicros: Number(env.PAYOUT_MIN_MICROS),
    commitment: "confirmed",
    claim,
    now: Date.now,
    afterStep,
  });
}

class Crash extends Error {}

describe("provider payouts on the local chain", () => {
  it("pays each node's settled earnings at or above the minimum to its owner's wallet, once", async () => {
    const a = await provider();
    const b = await provider();
    const nodeA = await nodeEarning(a, 12_500_000);
    const nodeB1 = await nodeEarning(b, 15_000_000);
    const nodeB2 = await nodeEarning(b, 20_000_000);
    const small = await nodeEarning(b, 4_000_000); // under the $10 minimum: waits
    const res = await call("/v1/operator/payouts/run", { method: "POST", headers: OPERATOR });
    expect(res.status).toBe(200);
    const ran = (await res.json()) as { paid: number; pending: number };
    expect(ran.pending).toBe(0);
    expect(await walletUsdc(a.wallet)).toBe(12_500_000n);
    expect(await walletUsdc(b.wallet)).toBe(35_000_000n);
    for (const node of [nodeA, nodeB1, nodeB2]) expect(await earningsOf(node)).toBe(0);
    expect(await earningsOf(small)).toBe(4_000_000);

    const listed = (await (await call("/v1/provider/payouts", authed(b.apiKey))).json()) as {
      payouts: { nodeId: string; status: string; amount: string; signature: string; id: string }[];
    };
    expect(listed.payouts.map((p) => [p.nodeId, p.status, p.amount]).sort()).toEqual(
      [
        [nodeB1, "paid", "15.00"],
        [nodeB2, "paid", "20.00"],
      ].sort(),
    );
    // The memo of the paying transaction names the payout ids; anyone can match them.
    const first = listed.payouts[0];
    if (!first) throw new Error("no payout listed");
    const { memos } = await parsedTransaction(chain, first.signature as Signature);
    expect(memos.join(" ")).toContain(first.id);
    // Another account sees none of them.
    const listedA = (await (await call("/v1/provider/payouts", authed(a.apiKey))).json()) as {
      payouts: { nodeId: string }[];
    };
    expect(listedA.payouts.map((p) => p.nodeId)).toEqual([nodeA]);

    // A second run pays nothing again.
    await call("/v1/operator/payouts/run", { method: "POST", headers: OPERATOR });
    expect(await walletUsdc(b.wallet)).toBe(35_000_000n);
    expect(await transfersTo(a.wallet)).toHaveLength(1);
  });

  for (const step of ["claimed", "packed", "signed", "sent", "settled"] as const) {
    it(`pays exactly once when the run crashes after "${step}"`, async () => {
      const p = await provider();
      const node = await nodeEarning(p, 11_000_000);
      await expect(
        run((at) => {
          if (at === step) throw new Crash(step);
        }),
      ).rejects.toBeInstanceOf(Crash);
      // The next run (a restarted object, the alarm, the next cron) finishes the job.
      for (let i = 0; i < 3 && (await earningsOf(node)) > 0; i++) await run();
      expect(await walletUsdc(p.wallet)).toBe(11_000_000n);
      expect(await transfersTo(p.wallet)).toHaveLength(1);
      expect(await earningsOf(node)).toBe(0);
      const rows = await env.DB.prepare("SELECT status, signature FROM payouts WHERE node_id = ?")
        .bind(node)
        .all<{ status: string; signature: string }>();
      expect(rows.results.map((r) => r.status)).toEqual(["paid"]);
      const moved = await env.DB.prepare(
        "SELECT count(*) AS n FROM ledger_transfers WHERE kind = 'payout' AND debit_account_id = ?",
      )
        .bind(`earnings:${node}`)
        .first<{ n: number }>();
      expect(moved?.n).toBe(1);
    });
  }

  it("signs again only after the stored bytes' blockhash has expired unlanded", async () => {
    const p = await provider();
    const node = await nodeEarning(p, 13_000_000);
    await expect(
      run((at) => {
        if (at === "signed") throw new Crash(at);
      }),
    ).rejects.toBeInstanceOf(Crash);
    const before = await env.DB.prepare(
      "SELECT b.signature AS s, b.last_valid_block_height AS h FROM payout_batches b JOIN payouts p ON p.batch_id = b.id WHERE p.node_id = ?",
    )
      .bind(node)
      .first<{ s: string; h: number }>();
    if (!before) throw new Error("no batch stored");
    // Wait until the finalized block height is past the stored bytes' last valid height.
    while ((await chain.blockHeight("finalized")) <= before.h) await new Promise((r) => setTimeout(r, 100));
    const result = await run(undefined, false);
    expect(result.resigned).toBe(1);
    expect(await walletUsdc(p.wallet)).toBe(13_000_000n);
    expect(await chain.status(before.s as Signature)).toBeNull();
    const after = await env.DB.prepare(
      "SELECT b.signature AS s, b.signings AS n, b.expired_signatures AS e FROM payout_batches b JOIN payouts p ON p.batch_id = b.id WHERE p.node_id = ?",
    )
      .bind(node)
      .first<{ s: string; n: number; e: string }>();
    expect(after?.n).toBe(2);
    expect(JSON.parse(after?.e ?? "[]")).toEqual([before.s]);
    expect(after?.s).not.toBe(before.s);
  });

  it("packs many payouts into transactions of at most 1,232 bytes", async () => {
    const providers = await Promise.all(Array.from({ length: 12 }, () => provider()));
    for (const [i, p] of providers.entries()) await nodeEarning(p, 10_000_000 + i);
    const result = await run();
    expect(result.paid).toBeGreaterThanOrEqual(12);
    expect(result.confirmed).toBeGreaterThanOrEqual(2);
    for (const [i, p] of providers.entries()) expect(await walletUsdc(p.wallet)).toBe(BigInt(10_000_000 + i));
    const wires = await env.DB.prepare("SELECT wire FROM payout_batches WHERE status = 'confirmed'").all<{
      wire: string;
    }>();
    for (const row of wires.results) expect(atob(row.wire).length).toBeLessThanOrEqual(MAX_TRANSACTION_BYTES);
  });

  it("refuses bad queries and callers without changing anything", async () => {
    const p = await provider();
    await expectError(await call("/v1/provider/payouts?limit=0", authed(p.apiKey)), 400, "invalid_request");
    await expectError(
      await call("/v1/provider/payouts?status=lost", authed(p.apiKey)),
      400,
      "invalid_request",
    );
    await expectError(await call("/v1/provider/payouts"), 401, "unauthorized");
    const before = await env.DB.prepare("SELECT count(*) AS n FROM payouts").first<{ n: number }>();
    await expectError(await call("/v1/operator/payouts/run", { method: "POST" }), 401, "unauthorized");
    await expectError(
      await call("/v1/operator/payouts/run", { method: "POST", headers: { authorization: "Bearer nope" } }),
      403,
      "operator_only",
    );
    const after = await env.DB.prepare("SELECT count(*) AS n FROM payouts").first<{ n: number }>();
    expect(after?.n).toBe(before?.n);
  });

  it("ends a payout the treasury cannot cover as failed after a bounded number of refused sends", async () => {
    const a = await provider();
    const b = await provider();
    // Together more USDC than the treasury holds: every preflight of their transaction is refused.
    const nodes = [await nodeEarning(a, 1_000_000_000_000), await nodeEarning(b, 1_000_000_000_000)];
    const first = await run();
    expect(first).toMatchObject({ claimed: 2, confirmed: 0, pending: 1, failed: 0 });
    const batch = await env.DB.prepare(
      "SELECT b.id, b.last_valid_block_height AS h, b.send_refusals AS n, b.error FROM payout_batches b JOIN payouts p ON p.batch_id = b.id WHERE p.node_id = ?",
    )
      .bind(nodes[0])
      .first<{ id: string; h: number; n: number; error: string }>();
    if (!batch) throw new Error("no batch");
    expect(batch.n).toBe(1);
    expect(batch.error).toContain("simulation failed");
    for (let i = 1; i <= MAX_SEND_REFUSALS; i++) await run(undefined, false);
    const held = await env.DB.prepare(
      "SELECT send_refusals AS n, signings AS s, status FROM payout_batches WHERE id = ?",
    )
      .bind(batch.id)
      .first<{ n: number; s: number; status: string }>();
    expect(held).toEqual({ n: MAX_SEND_REFUSALS, s: 1, status: "signed" });
    while ((await chain.blockHeight("finalized")) <= batch.h) await new Promise((r) => setTimeout(r, 100));
    const ended = await run(undefined, false);
    expect(ended).toMatchObject({ failed: 1, refused: 1, confirmed: 0, resigned: 0 });

    // What the provider sees: the payout failed, and why; the earnings are still pending, nothing was paid.
    const listed = (await (await call("/v1/provider/payouts", authed(a.apiKey))).json()) as {
      payouts: { status: string; note: string | null }[];
    };
    expect(listed.payouts[0]?.status).toBe("failed");
    expect(listed.payouts[0]?.note).toContain("never accepted");
    expect(listed.payouts[0]?.note).toContain(`refused by preflight ${MAX_SEND_REFUSALS} times`);
    for (const node of nodes) expect(await earningsOf(node)).toBe(1_000_000_000_000);
    expect(await transfersTo(a.wallet)).toHaveLength(0);
    expect(await transfersTo(b.wallet)).toHaveLength(0);
    // Take the earnings back so that no later run in this file claims them again.
    for (const node of nodes)
      await runBatch(
        db,
        transferStatements(db, {
          debit: earningsAccount(node),
          credit: CREDITS_ISSUER,
          amountMicros: 1_000_000_000_000,
          kind: "credit_grant",
          idempotencyKey: `test-earnings-back:${node}`,
        }),
      );
  });
});
