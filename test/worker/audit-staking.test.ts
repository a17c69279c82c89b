import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { chainConfig } from "../../src/chain/chain-config.js";
import { SolanaClient } from "../../src/chain/solana-client.js";
import { runStakeTransfers } from "../../src/chain/staking/stake-runner.js";
import { treasurySigner } from "../../src/chain/treasury.js";
import { newId } from "../../src/shared/ids.js";
import { StakeTransferView } from "../../src/shared/staking-api.js";
import { auditEvents, keyIdOf } from "./audit-support.js";
import { stake, stakingNode } from "./staking-nodes.js";
import { MRD, stakeTx, vault } from "./staking-support.js";
import { call, jsonInit } from "./support.js";
import { wallet } from "./wallet-support.js";

const config = chainConfig(env);

/** One stake run (withdrawals due claimed, open transfers sent) with the clock at `now`. */
async function run(now: number) {
  return runStakeTransfers({
    db: drizzle(env.DB),
    chain: new SolanaClient(env.SOLANA_RPC_URL),
    treasury: await treasurySigner(config),
    mrdMint: config.mrdMint,
    stakeVault: vault,
    commitment: "confirmed",
    claim: true,
    now: () => now,
  });
}

// Staking moves a provider's money: each deposit counted and each unstake (with the key that did
// it), each cooldown's end (where the MRD goes) and each slash (with its evidence) is in the
// account's audit log, once; a refused deposit, unstake or slash records nothing.
describe("the audit log and staking", () => {
  it("records stake, unstake, cooldown end and slash once each; refused ones record nothing", async () => {
    const node = await stakingNode(41);
    const nodeId = node.agent.nodeId;
    const keyId = keyIdOf(node.apiKey);
    const payout = await wallet();
    const challenge = await call(
      "/v1/provider/payout-wallet/challenge",
      jsonInit("POST", { address: payout.address }, node.apiKey),
    );
    const { message } = (await challenge.json()) as { message: string };
    const linked = await call(
      "/v1/provider/payout-wallet",
      jsonInit("PUT", { message, signature: await payout.sign(message) }, node.apiKey),
    );
    expect(linked.status).toBe(200);
    const deposits = `/v1/provider/staking/${nodeId}/deposits`;
    const unstake = (amount: string) =>
      call(`/v1/provider/staking/${nodeId}/unstake`, jsonInit("POST", { amount }, node.apiKey));

    // Refused: a transfer without the node's memo; an unstake with nothing staked.
    const noMemo = await stakeTx(node.wallet, 5n * MRD, "hello");
    expect((await call(deposits, jsonInit("POST", { signature: noMemo }, node.apiKey))).status).toBe(422);
    expect((await unstake("1")).status).toBe(422);
    expect(await auditEvents(node.apiKey, "stake.")).toEqual([]);

    await stake(node, 300n);
    const [deposited] = await auditEvents(node.apiKey, "stake.");
    expect(deposited).toMatchObject({
      action: "stake.deposited",
      subject: nodeId,
      keyId,
      details: { wallet: node.wallet.address, amountBase: Number(300n * MRD) },
    });
    // The same transaction again is 409 and recorded nothing more.
    const signature = deposited?.details.signature;
    expect((await call(deposits, jsonInit("POST", { signature }, node.apiKey))).status).toBe(409);

    expect((await unstake("301")).status).toBe(422);
    const res = await unstake("100");
    expect(res.status).toBe(201);
    const withdrawal = StakeTransferView.parse(await res.json());
    const readyAt = Date.parse(withdrawal.readyAt);
    expect(await run(readyAt - 1)).toMatchObject({ claimed: 0 });
    expect(await run(readyAt)).toMatchObject({ claimed: 1, done: 1 });
    expect(await run(readyAt + 1)).toMatchObject({ claimed: 0 });

    const disputeId = newId("dsp");
    await env.DB.prepare(
      "INSERT INTO charge_disputes (id, attempt_id, job_id, account_id, node_id, reason, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
      .bind(
        disputeId,
        newId("att"),
        newId("job"),
        "acct_x",
        nodeId,
        "output was garbage",
        "refunded",
        Date.now(),
      )
      .run();
    const slash = (evidence: string) =>
      call(`/v1/operator/staking/${nodeId}/slash`, {
        method: "POST",
        headers: { authorization: "Bearer test-operator-token", "content-type": "application/json" },
        body: JSON.stringify({ evidence, reason: "lost a charge dispute" }),
      });
    expect((await slash(`dispute:${newId("dsp")}`)).status).toBe(422);
    const slashed = await slash(`dispute:${disputeId}`);
    expect(slashed.status).toBe(201);
    const slashId = StakeTransferView.parse(await slashed.json()).id;
    expect((await slash(`dispute:${disputeId}`)).status).toBe(409);

    // In any order: the run's clock was set past the cooldown, so its record's time is ahead too.
    const events = await auditEvents(node.apiKey, "stake.");
    expect(events).toHaveLength(4);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          action: "stake.slashed",
          subject: nodeId,
          keyId: null,
          // 10% of the 200 MRD still staked.
          details: expect.objectContaining({
            transfer: slashId,
            amountBase: Number(20n * MRD),
            evidence: `dispute:${disputeId}`,
          }),
        }),
        expect.objectContaining({
          action: "stake.cooldown_ended",
          subject: nodeId,
          details: { transfer: withdrawal.id, amountBase: Number(100n * MRD), destination: payout.address },
        }),
        expect.objectContaining({
          action: "stake.unstaked",
          subject: nodeId,
          keyId,
          details: { transfer: withdrawal.id, amountBase: Number(100n * MRD), readyAt: withdrawal.readyAt },
        }),
        deposited,
      ]),
    );
  });
});
