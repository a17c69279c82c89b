import { and, eq, or, type SQL, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { nodeStakes } from "../../schema/staking.js";
import { nodes } from "../../schema/tables.js";
import { stakedBaseOf } from "../chain/staking/stake-book.js";
import { STAKE_TIERS, type StakeTier, tierFor } from "../chain/staking/stake-config.js";
import { unwrap } from "../durable/rpc-result.js";
import { regionOfNode } from "./node-records.js";
import { nodeStub } from "./region-routing.js";

/**
 * Tells the node's region the tier its stake earns now, after a deposit, an unstake or a slash,
 * so listing and ranking follow the stake. The stake itself is already recorded in D1 when this
 * runs. What the region acknowledged is written back to `node_stakes` (`told_tier`, `told_region`)
 * only if the stake has not moved since it was read; a region that cannot be told (the node not
 * registered yet, the region unreachable) is logged and leaves the caller's answer alone, and the
 * cron's `syncStakeTiers` tells it again.
 */
export async function pushStakeTier(env: Env, nodeId: string): Promise<StakeTier | null> {
  const db = drizzle(env.DB);
  const stakedBase = await stakedBaseOf(db, nodeId);
  const tier = tierFor(BigInt(stakedBase));
  try {
    const region = await regionOfNode(env.DB, nodeId);
    const { known } = unwrap(await nodeStub(env, region, nodeId).restake(nodeId, tier));
    if (!known) throw new Error("the region does not know the node");
    await db
      .update(nodeStakes)
      .set({ toldTier: tier, toldRegion: region })
      .where(and(eq(nodeStakes.nodeId, nodeId), eq(nodeStakes.stakedBase, stakedBase)));
    return tier;
  } catch (error) {
    console.error(
      JSON.stringify({ msg: "stake tier not told to the region", nodeId, tier, error: String(error) }),
    );
    return null;
  }
}

/** `tierFor` in SQL: the tier a `staked_base` earns. */
function tierSql(): SQL {
  const cases = [...STAKE_TIERS]
    .reverse()
    .map(
      (step) => sql`WHEN ${nodeStakes.stakedBase} >= ${Number(step.minMrd * 1_000_000n)} THEN ${step.tier}`,
    );
  return sql`CASE ${sql.join(cases, sql` `)} ELSE 'none' END`;
}

/** How many stale nodes one cron pass tells; the rest wait a minute. */
export const STAKE_SYNC_BATCH = 50;

/**
 * The cron's pass over stake tiers: every registered node whose region has not acknowledged what
 * its stake earns now (a push that failed: the region unreachable, a crash between the stake's
 * change and the push) or that registered in another region since (the new region's record has no
 * tier) is told again, oldest change first, at most `STAKE_SYNC_BATCH` per pass. A node staked
 * before it registered is told once it has. Answers how many were stale and how many were told.
 */
export async function syncStakeTiers(env: Env): Promise<{ stale: number; told: number }> {
  const stale = await drizzle(env.DB)
    .select({ nodeId: nodeStakes.nodeId })
    .from(nodeStakes)
    .innerJoin(nodes, eq(nodes.id, nodeStakes.nodeId))
    .where(
      or(
        sql`${nodeStakes.toldTier} IS NOT (${tierSql()})`,
        sql`${nodeStakes.toldRegion} IS NOT ${nodes.region}`,
      ),
    )
    .orderBy(nodeStakes.updatedAt)
    .limit(STAKE_SYNC_BATCH);
  let told = 0;
  for (const { nodeId } of stale) if ((await pushStakeTier(env, nodeId)) !== null) told += 1;
  if (stale.length > 0) console.log(JSON.stringify({ msg: "stake tiers synced", stale: stale.length, told }));
  return { stale: stale.length, told };
}
