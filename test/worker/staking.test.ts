import { env } from "cloudflare:workers";
import * as ed from "@noble/ed25519";
import {
  type Address,
  address,
  generateKeyPairSigner,
  type KeyPairSigner,
  type Signature,
} from "@solana/kit";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { chainConfig } from "../../src/chain/chain-config.js";
import { SolanaClient } from "../../src/chain/solana-client.js";
import { DEFAULT_STAKE_COOLDOWN_MS } from "../../src/chain/staking/stake-config.js";
import { runStakeTransfers, type StakeStep } from "../../src/chain/staking/stake-runner.js";
import { treasurySigner } from "../../src/chain/treasury.js";
import { encodeBase58 } from "../../src/shared/base58.js";
import { newId } from "../../src/shared/ids.js";
import { StakeTransferView, StakeView, TransactionSignature } from "../../src/shared/staking-api.js";
import { TokenStatsView } from "../../src/shared/token-api.js";
import { parsedTransaction } from "./chain-support.js";
import { ata, MRD, rpc, stakeTx, vault } from "./staking-support.js";
import { authed, call, expectError, jsonInit, signup } from "./support.js";

const chain = new SolanaClient(env.SOLANA_RPC_URL);
const config = chainConfig(env);
const OPERATOR = { authorization: "Bearer test-operator-token" };
const db = drizzle(env.DB);

interface Provider {
  accountId: string;
  apiKey: string;
  /** Its payout wallet (linked by signed message); unstaked MRD goes back here. */
  payout: Address;
  /** The wallet it stakes from, funded by the local faucet. */
  wallet: KeyPairSigner;
  nodeId: string;
}

async function provider(mrd = "1000"): Promise<Provider> {
  const account = await signup();
  const secret = ed.utils.randomSecretKey();
  const payout = encodeBase58(await ed.getPublicKeyAsync(secret));
  const issued = (await (
    await call("/v1/provider/payout-wallet/challenge", jsonInit("POST", { address: payout }, account.apiKey))
  ).json()) as { message: string };
  const signature = encodeBase58(await ed.signAsync(new TextEncoder().encode(issued.message), secret));
  const linked = await call(
    "/v1/provider/payout-wallet",
    jsonInit("PUT", { message: issued.message, signature }, account.apiKey),
  );
  expect(linked.status).toBe(200);
  const wallet = await generateKeyPairSigner();
  for (const [token, amount] of [
    ["sol", "1"],
    ["mrd", mrd],
  ] as const) {
    const res = await call("/v1/dev/faucet", jsonInit("POST", { wallet: wallet.address, amount, token }));
    expect(res.status).toBe(201);
  }
  const nodeId = await ownedNode(account.id);
  return { accountId: account.id, apiKey: account.apiKey, payout: address(payout), wallet, nodeId };
}

async function ownedNode(accountId: string): Promise<string> {
  const nodeId = newId("node");
  await env.DB.prepare("INSERT INTO node_owners (node_id, account_id, created_at) VALUES (?, ?, ?)")
    .bind(nodeId, accountId, Date.now())
    .run();
  return nodeId;
}

async function mrdOf(account: Address): Promise<bigint> {
  const info = await rpc.getAccountInfo(account, { commitment: "confirmed", encoding: "base64" }).send();
  if (!info.value) return 0n;
  const { value } = await rpc.getTokenAccountBalance(account, { commitment: "confirmed" }).send();
  return BigInt(value.amount);
}

async function stakeOf(p: Provider): Promise<StakeView> {
  const res = await call(`/v1/provider/staking/${p.nodeId}`, authed(p.apiKey));
  expect(res.status).toBe(200);
  return StakeView.parse(await res.json());
}

async function deposit(p: Provider, signature: string): Promise<Response> {
  return call(`/v1/provider/staking/${p.nodeId}/deposits`, jsonInit("POST", { signature }, p.apiKey));
}

async function staked(p: Provider, mrd: bigint): Promise<void> {
  const signature = await stakeTx(p.wallet, mrd * MRD, `meridian-stake-v1 ${p.nodeId}`);
  expect((await deposit(p, signature)).status).toBe(201);
}

async function stored(): Promise<string> {
  const rows = await Promise.all(
    ["node_stakes", "stake_deposits", "stake_transfers"].map((table) =>
      env.DB.prepare(`SELECT * FROM ${table} ORDER BY 1`).all(),
    ),
  );
  return JSON.stringify(rows.map((r) => r.results));
}

async function run(now: number, afterStep?: (step: StakeStep) => void, claim = true) {
  return runStakeTransfers({
    db,
    chain,
    treasury: await treasurySigner(config),
    mrdMint: config.mrdMint,
    stakeVault: vault,
    commitment: "confirmed",
    claim,
    now: () => now,
    afterStep,
  });
}

class Crash extends Error {}

describe("provider staking on the local chain", () => {
  it("counts a deposit the provider signed once, for what reached the vault", async () => {
    const p = await provider();
    const before = await stakeOf(p);
    expect(before).toMatchObject({
      staked: { base: "0" },
      tier: "none",
      deposit: { vault, memo: `meridian-stake-v1 ${p.nodeId}` },
    });
    const vaultBefore = await mrdOf(vault);
    const signature = await stakeTx(p.wallet, 250n * MRD, before.deposit.memo);
    expect(await mrdOf(vault)).toBe(vaultBefore + 250n * MRD);

    const res = await deposit(p, signature);
    expect(res.status).toBe(201);
    const view = StakeView.parse(await res.json());
    expect(view.staked).toEqual({ mrd: "250", base: "250000000" });
    expect(view.tier).toBe("bronze");
    expect(view.deposits).toEqual([
      expect.objectContaining({
        signature,
        wallet: p.wallet.address,
        amount: { mrd: "250", base: "250000000" },
      }),
    ]);
    const stats = TokenStatsView.parse(await (await call("/v1/token/stats")).json());
    expect(BigInt(stats.staked.base)).toBe(await mrdOf(vault));

    // The same transaction again, for this node or another of the same provider: never counted twice.
    const snapshot = await stored();
    await expectError(await deposit(p, signature), 409, "deposit_already_counted");
    const other = { ...p, nodeId: await ownedNode(p.accountId) };
    await expectError(await deposit(other, signature), 422, "not_a_stake_deposit");
    expect(await stored()).toBe(snapshot);
    expect((await stakeOf(p)).staked.mrd).toBe("250");
  });

  it("refuses deposits that do not stake for this node, changing nothing", async () => {
    const p = await provider();
    const q = await provider();
    const snapshot = await stored();
    const forOther = await stakeTx(p.wallet, 10n * MRD, `meridian-stake-v1 ${q.nodeId}`);
    await expectError(await deposit(p, forOther), 422, "not_a_stake_deposit");
    const noMemo = await stakeTx(p.wallet, 10n * MRD, "hello");
    await expectError(await deposit(p, noMemo), 422, "not_a_stake_deposit");
    // The right memo, but the MRD went to the treasury, not the stake vault.
    const elsewhere = await stakeTx(
      p.wallet,
      10n * MRD,
      `meridian-stake-v1 ${p.nodeId}`,
      await ata((await treasurySigner(config)).address),
    );
    await expectError(await deposit(p, elsewhere), 422, "not_a_stake_deposit");
    const unknown = encodeBase58(crypto.getRandomValues(new Uint8Array(64)));
    expect(TransactionSignature.safeParse(unknown).success).toBe(true);
    await expectError(await deposit(p, unknown), 422, "deposit_not_found");
    for (const body of [{}, { signature: "abc" }, { signature: forOther, extra: 1 }, { signature: 5 }])
      await expectError(
        await call(`/v1/provider/staking/${p.nodeId}/deposits`, jsonInit("POST", body, p.apiKey)),
        422,
        "invalid_request",
      );
    // Another provider's node, a node that does not exist, no key.
    await expectError(
      await call(
        `/v1/provider/staking/${q.nodeId}/deposits`,
        jsonInit("POST", { signature: forOther }, p.apiKey),
      ),
      404,
      "node_not_found",
    );
    await expectError(await call(`/v1/provider/staking/not-a-node`, authed(p.apiKey)), 404, "node_not_found");
    await expectError(await call(`/v1/provider/staking/${p.nodeId}`), 401, "unauthorized");
    expect(await stored()).toBe(snapshot);
  });

  it("pays an unstake back only after the cooldown, to the payout wallet, exactly once", async () => {
    const p = await provider();
    await staked(p, 300n);
    const snapshot = await stored();
    for (const amount of ["300.000001", "0", "-1", "1.0000001", "abc"]) {
      const res = await call(
        `/v1/provider/staking/${p.nodeId}/unstake`,
        jsonInit("POST", { amount }, p.apiKey),
      );
      expect(res.status, amount).toBe(422);
    }
    await expectError(
      await call(`/v1/provider/staking/${p.nodeId}/unstake`, jsonInit("POST", { amount: "301" }, p.apiKey)),
      422,
      "insufficient_stake",
    );
    expect(await stored()).toBe(snapshot);

    const res = await call(
      `/v1/provider/staking/${p.nodeId}/unstake`,
      jsonInit("POST", { amount: "120" }, p.apiKey),
    );
    expect(res.status).toBe(201);
    const unbonding = StakeTransferView.parse(await res.json());
    const readyAt = Date.parse(unbonding.readyAt);
    expect(readyAt - Date.parse(unbonding.createdAt)).toBe(DEFAULT_STAKE_COOLDOWN_MS);
    expect(await stakeOf(p)).toMatchObject({ staked: { mrd: "180" }, unbonding: { mrd: "120" } });

    // The clock says the cooldown has not passed: nothing leaves the vault.
    expect(await run(readyAt - 1)).toMatchObject({ claimed: 0, done: 0 });
    expect(await mrdOf(await ata(p.payout))).toBe(0n);
    expect(await run(readyAt)).toMatchObject({ claimed: 1, done: 1 });
    expect(await mrdOf(await ata(p.payout))).toBe(120n * MRD);
    const view = await stakeOf(p);
    expect(view).toMatchObject({ staked: { mrd: "180" }, unbonding: { mrd: "0" } });
    const paid = view.transfers.find((t) => t.id === unbonding.id);
    expect(paid).toMatchObject({ status: "done", destination: p.payout });
    if (!paid?.signature) throw new Error("no signature");
    const { memos } = await parsedTransaction(chain, paid.signature as Signature);
    expect(memos.join(" ")).toContain(`meridian-stake-v1 withdraw ${unbonding.id}`);
    expect(await run(readyAt + 1)).toMatchObject({ claimed: 0, done: 0 });
    expect(await mrdOf(await ata(p.payout))).toBe(120n * MRD);
  });

  for (const step of ["claimed", "signed", "sent"] as const) {
    it(`withdraws exactly once when the run crashes after "${step}"`, async () => {
      const p = await provider();
      await staked(p, 50n);
      const res = await call(
        `/v1/provider/staking/${p.nodeId}/unstake`,
        jsonInit("POST", { amount: "50" }, p.apiKey),
      );
      const readyAt = Date.parse(StakeTransferView.parse(await res.json()).readyAt);
      await expect(
        run(readyAt, (at) => {
          if (at === step) throw new Crash(at);
        }),
      ).rejects.toBeInstanceOf(Crash);
      for (let i = 0; i < 3 && (await stakeOf(p)).transfers.some((t) => t.status !== "done"); i++)
        await run(readyAt);
      expect((await stakeOf(p)).transfers.map((t) => t.status)).toEqual(["done"]);
      expect(await mrdOf(await ata(p.payout))).toBe(50n * MRD);
      const landed = await rpc
        .getSignaturesForAddress(await ata(p.payout), { commitment: "confirmed" })
        .send();
      expect(landed.filter((s) => s.err === null)).toHaveLength(1);
    });
  }

  it("slashes a share of staked and unbonding MRD into the treasury for a lost dispute, once", async () => {
    const p = await provider();
    await staked(p, 400n);
    await call(`/v1/provider/staking/${p.nodeId}/unstake`, jsonInit("POST", { amount: "100" }, p.apiKey));
    const disputeId = newId("dsp");
    const rejectedId = newId("dsp");
    for (const [id, state] of [
      [disputeId, "refunded"],
      [rejectedId, "rejected"],
    ] as const)
      await env.DB.prepare(
        "INSERT INTO charge_disputes (id, attempt_id, job_id, account_id, node_id, reason, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      )
        .bind(id, newId("att"), newId("job"), "acct_x", p.nodeId, "output was garbage", state, Date.now())
        .run();
    const slashAt = (body: unknown, headers: Record<string, string> = OPERATOR) =>
      call(`/v1/operator/staking/${p.nodeId}/slash`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const snapshot = await stored();
    await expectError(
      await slashAt({ evidence: `dispute:${rejectedId}`, reason: "x" }),
      422,
      "evidence_not_proven",
    );
    await expectError(
      await slashAt({ evidence: `dispute:${newId("dsp")}`, reason: "x" }),
      422,
      "evidence_not_proven",
    );
    await expectError(await slashAt({ evidence: "rumour", reason: "x" }), 422, "invalid_request");
    await expectError(await slashAt({ evidence: `dispute:${disputeId}` }), 422, "invalid_request");
    await expectError(
      await slashAt({ evidence: `dispute:${disputeId}`, reason: "x" }, {}),
      401,
      "unauthorized",
    );
    // A node with no verification record in any region: the evidence cannot be checked.
    await expectError(await slashAt({ evidence: "verification", reason: "x" }), 404, "node_not_found");
    expect(await stored()).toBe(snapshot);

    const treasuryAta = await ata((await treasurySigner(config)).address);
    const treasuryBefore = await mrdOf(treasuryAta);
    const res = await slashAt({ evidence: `dispute:${disputeId}`, reason: "lost a charge dispute" });
    expect(res.status).toBe(201);
    const slash = StakeTransferView.parse(await res.json());
    // 10% of 300 staked and of 100 unbonding.
    expect(slash).toMatchObject({ kind: "slash", amount: { mrd: "40" }, evidence: `dispute:${disputeId}` });
    expect(slash.evidenceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(await stakeOf(p)).toMatchObject({ staked: { mrd: "270" }, unbonding: { mrd: "90" } });
    const after = (await stakeOf(p)).transfers.find((t) => t.id === slash.id);
    expect(after?.status).toBe("done");
    expect((await mrdOf(treasuryAta)) - treasuryBefore).toBe(40n * MRD);
    await expectError(
      await slashAt({ evidence: `dispute:${disputeId}`, reason: "again" }),
      409,
      "already_slashed",
    );
    expect((await stakeOf(p)).staked.mrd).toBe("270");
  });
});
