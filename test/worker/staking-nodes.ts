import { generateKeyPairSigner, type KeyPairSigner } from "@solana/kit";
import { expect } from "vitest";
import { NodeList } from "../../src/shared/api.js";
import { MRD, stakeTx } from "./staking-support.js";
import { authed, call, h100Numbered, hardware, jsonInit, ownedAgent, type TestAgent } from "./support.js";

export interface StakingNode {
  agent: TestAgent;
  apiKey: string;
  wallet: KeyPairSigner;
}

/** A provider's node (one H100 at `price` per hour) and a wallet the faucet funded. */
export async function stakingNode(n: number, price = "2.00"): Promise<StakingNode> {
  const { agent, apiKey } = await ownedAgent(hardware([h100Numbered(9_100 + n)]), {
    labels: { site: "stake" },
    pricePerGpuHour: price,
  });
  const wallet = await generateKeyPairSigner();
  for (const [token, amount] of [
    ["sol", "1"],
    ["mrd", "5000"],
  ] as const) {
    const res = await call("/v1/dev/faucet", jsonInit("POST", { wallet: wallet.address, amount, token }));
    expect(res.status).toBe(201);
  }
  return { agent, apiKey, wallet };
}

/** Each listed node's stake tier, as GET /v1/nodes shows it, by node id. */
export async function tiers(apiKey: string): Promise<Record<string, string>> {
  const res = await call("/v1/nodes", authed(apiKey));
  expect(res.status).toBe(200);
  const { nodes } = NodeList.parse(await res.json());
  return Object.fromEntries(nodes.map((node) => [node.id, node.stakeTier]));
}

export async function stake(node: StakingNode, mrd: bigint): Promise<void> {
  const signature = await stakeTx(node.wallet, mrd * MRD, `meridian-stake-v1 ${node.agent.nodeId}`);
  const res = await call(
    `/v1/provider/staking/${node.agent.nodeId}/deposits`,
    jsonInit("POST", { signature }, node.apiKey),
  );
  expect(res.status).toBe(201);
}

/** The node's tier as the region `region` lists it. */
export async function tierIn(apiKey: string, nodeId: string, region: string): Promise<string | undefined> {
  const res = await call("/v1/nodes", authed(apiKey));
  expect(res.status).toBe(200);
  const { nodes } = NodeList.parse(await res.json());
  return nodes.find((node) => node.id === nodeId && node.region === region)?.stakeTier;
}
