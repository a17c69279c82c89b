import { drizzle } from "drizzle-orm/d1";
import { stakedBaseOf } from "../chain/staking/stake-book.js";
import { type StakeTier, tierFor } from "../chain/staking/stake-config.js";
import { unwrap } from "../durable/rpc-result.js";
import { regionOfNode } from "./node-records.js";
import { nodeStub } from "./region-routing.js";

/**
 * Tells the node's region the tier its stake earns now, after a deposit, an unstake or a slash,
 * so listing and ranking follow the stake. The stake itself is already recorded in D1 when this
 * runs: a region that cannot be told (the node not registered yet, the region unreachable) is
 * logged and leaves the caller's answer alone; the next change tells it again.
 */
export async function pushStakeTier(env: Env, nodeId: string): Promise<StakeTier | null> {
  const tier = tierFor(BigInt(await stakedBaseOf(drizzle(env.DB), nodeId)));
  try {
    const region = await regionOfNode(env.DB, nodeId);
    const { known } = unwrap(await nodeStub(env, region, nodeId).restake(nodeId, tier));
    if (!known) throw new Error("the region does not know the node");
    return tier;
  } catch (error) {
    console.error(
      JSON.stringify({ msg: "stake tier not told to the region", nodeId, tier, error: String(error) }),
    );
    return null;
  }
}
