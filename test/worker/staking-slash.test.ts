import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { generateKeyPairSigner, type KeyPairSigner } from "@solana/kit";
import { afterEach, describe, expect, it } from "vitest";
import { StakeTransferView, StakeView } from "../../src/shared/staking-api.js";
import { challengeOf, lieThroughChallenge } from "./node-standing-support.js";
import { MRD, stakeTx } from "./staking-support.js";
import {
  authed,
  call,
  drainAgents,
  expectError,
  h100Numbered,
  hardware,
  jsonInit,
  ownedAgent,
  regionObject,
  type TestAgent,
} from "./support.js";

const OPERATOR = { authorization: "Bearer test-operator-token" };
const payouts = () => env.PAYOUTS.get(env.PAYOUTS.idFromName("payouts"));

/** The operator's slash of `nodeId` for its verification. */
function operatorSlash(nodeId: string, reason: string): Promise<Response> {
  return call(`/v1/operator/staking/${nodeId}/slash`, {
    method: "POST",
    headers: { ...OPERATOR, "content-type": "application/json" },
    body: JSON.stringify({ evidence: "verification", reason }),
  });
}

interface Provider {
  agent: TestAgent;
  apiKey: string;
  wallet: KeyPairSigner;
}

async function provider(n: number, mrd: bigint): Promise<Provider> {
  const { agent, apiKey } = await ownedAgent(hardware([h100Numbered(9_300 + n)]));
  const wallet = await generateKeyPairSigner();
  for (const [token, amount] of [
    ["sol", "1"],
    ["mrd", "5000"],
  ] as const) {
    const res = await call("/v1/dev/faucet", jsonInit("POST", { wallet: wallet.address, amount, token }));
    expect(res.status).toBe(201);
  }
  if (mrd > 0n) {
    const signature = await stakeTx(wallet, mrd * MRD, `meridian-stake-v1 ${agent.nodeId}`);
    const res = await call(
      `/v1/provider/staking/${agent.nodeId}/deposits`,
      jsonInit("POST", { signature }, apiKey),
    );
    expect(res.status).toBe(201);
  }
  return { agent, apiKey, wallet };
}

async function stakeOf(p: Provider): Promise<StakeView> {
  const res = await call(`/v1/provider/staking/${p.agent.nodeId}`, authed(p.apiKey));
  expect(res.status).toBe(200);
  return StakeView.parse(await res.json());
}

async function slashOrders(): Promise<{ evidence: string; state: string; transfer_id: string | null }[]> {
  const rows = await env.DB.prepare("SELECT evidence, state, transfer_id FROM slash_orders ORDER BY 1").all<{
    evidence: string;
    state: string;
    transfer_id: string | null;
  }>();
  return rows.results;
}

async function slashesOf(nodeId: string): Promise<{ id: string; amount_base: number; evidence: string }[]> {
  const rows = await env.DB.prepare(
    "SELECT id, amount_base, evidence FROM stake_transfers WHERE node_id = ? AND kind = 'slash'",
  )
    .bind(nodeId)
    .all<{ id: string; amount_base: number; evidence: string }>();
  return rows.results;
}

async function tierListed(apiKey: string, nodeId: string): Promise<string | undefined> {
  const res = await call("/v1/nodes", authed(apiKey));
  const { nodes } = (await res.json()) as { nodes: { id: string; stakeTier: string }[] };
  return nodes.find((node) => node.id === nodeId)?.stakeTier;
}

describe("a rejected verification slashes the node's stake", () => {
  afterEach(drainAgents);

  it("slashes the configured share once, linked to the verification, and drops the tier", async () => {
    const cheat = await provider(1, 1_000n);
    expect(await tierListed(cheat.apiKey, cheat.agent.nodeId)).toBe("silver");
    // Before any rejection the verification proves nothing: the operator's slash is refused.
    await expectError(await operatorSlash(cheat.agent.nodeId, "looks off"), 422, "evidence_not_proven");
    await lieThroughChallenge(cheat.agent);
    const evidence = `verification:${cheat.agent.nodeId}:unanswered`;
    // The judgement's step owes D1 the order (through the region's outbox); nothing slashed yet.
    await runDurableObjectAlarm(regionObject());
    expect((await slashOrders()).filter((o) => o.evidence === evidence)).toEqual([
      { evidence, state: "open", transfer_id: null },
    ]);

    // The payouts object's minute: the slash, its transfer to the treasury, the region told.
    const settled = await payouts().slashOrders();
    expect(settled.slashed).toEqual([cheat.agent.nodeId]);
    const [slash, ...more] = await slashesOf(cheat.agent.nodeId);
    expect(more).toEqual([]);
    expect(slash).toMatchObject({ amount_base: Number(100n * MRD), evidence });
    const stake = await stakeOf(cheat);
    expect(stake).toMatchObject({ staked: { base: String(900n * MRD) }, tier: "bronze" });
    const transfer = StakeTransferView.parse(stake.transfers.find((t) => t.kind === "slash"));
    expect(transfer).toMatchObject({ status: "done", evidence });
    expect(transfer.evidenceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(transfer.reason).toContain("rejected");
    expect(transfer.signature).not.toBeNull();
    expect(await tierListed(cheat.apiKey, cheat.agent.nodeId)).toBe("bronze");
    expect(await slashOrders()).toContainEqual({ evidence, state: "slashed", transfer_id: slash?.id });

    // Exactly once: another minute, an outbox flushed again, the operator naming the same evidence.
    await payouts().slashOrders();
    await env.DB.prepare(
      "INSERT INTO slash_orders (evidence, node_id, reason, record, created_at) VALUES (?, ?, 'again', '{}', ?) ON CONFLICT DO NOTHING",
    )
      .bind(evidence, cheat.agent.nodeId, Date.now())
      .run();
    await payouts().slashOrders();
    await expectError(await operatorSlash(cheat.agent.nodeId, "again"), 409, "already_slashed");
    expect(await slashesOf(cheat.agent.nodeId)).toHaveLength(1);
    expect((await stakeOf(cheat)).staked.base).toBe(String(900n * MRD));
  });

  it("closes the order without a slash for a node with nothing at stake", async () => {
    const unstaked = await provider(2, 0n);
    await lieThroughChallenge(unstaked.agent);
    await runDurableObjectAlarm(regionObject());
    const settled = await payouts().slashOrders();
    expect(settled.slashed).toEqual([]);
    expect(settled.nothingToSlash).toBe(1);
    expect(await slashesOf(unstaked.agent.nodeId)).toEqual([]);
    expect(await slashOrders()).toContainEqual({
      evidence: `verification:${unstaked.agent.nodeId}:unanswered`,
      state: "nothing_to_slash",
      transfer_id: null,
    });
  });

  it("orders no slash for a missed deadline: absence is not proof of a lie", async () => {
    const late = await provider(3, 100n);
    await challengeOf(late.agent);
    await runInDurableObject(regionObject(), (instance) => {
      const desk = (
        instance as unknown as {
          standing: {
            desk: {
              nodes: Map<string, { gpus: { challenge: { challenge: { readyBy: number } } | null }[] }>;
            };
          };
        }
      ).standing.desk;
      const open = desk.nodes.get(late.agent.nodeId)?.gpus.find((gpu) => gpu.challenge !== null)?.challenge;
      if (!open) throw new Error("no open challenge");
      open.challenge.readyBy = 0;
    });
    await runDurableObjectAlarm(regionObject());
    await payouts().slashOrders();
    expect((await slashOrders()).map((o) => o.evidence)).not.toContain(
      `verification:${late.agent.nodeId}:unanswered`,
    );
    expect((await stakeOf(late)).staked.base).toBe(String(100n * MRD));
    // The operator may still slash for it, with the rejected verification as the evidence.
    const res = await operatorSlash(late.agent.nodeId, "never ran its challenge");
    expect(res.status).toBe(201);
    const slash = StakeTransferView.parse(await res.json());
    expect(slash).toMatchObject({
      kind: "slash",
      evidence: `verification:${late.agent.nodeId}:unanswered`,
      amount: { base: String(10n * MRD) },
    });
  });
});
