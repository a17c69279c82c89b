import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import worker from "../../src/worker/index.js";
import { syncStakeTiers } from "../../src/worker/stake-tier.js";
import { stake, stakingNode, tierIn } from "./staking-nodes.js";
import { drainAgents, h100Numbered, hardware } from "./support.js";

/** One cron trigger, as wrangler.toml's every-minute schedule fires it, run to its end. */
async function cron(): Promise<void> {
  const ctx = createExecutionContext();
  worker.scheduled(createScheduledController({ scheduledTime: Date.now(), cron: "* * * * *" }), env, ctx);
  await waitOnExecutionContext(ctx);
}

async function told(
  nodeId: string,
): Promise<{ told_tier: string | null; told_region: string | null } | null> {
  return env.DB.prepare("SELECT told_tier, told_region FROM node_stakes WHERE node_id = ?")
    .bind(nodeId)
    .first();
}

async function d1Region(nodeId: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT region FROM nodes WHERE id = ?")
    .bind(nodeId)
    .first<{ region: string }>();
  return row?.region;
}

describe("stake tiers reach the regions that missed them", () => {
  afterEach(drainAgents);

  it("a region that could not be told when the stake changed gets the tier on the next cron", async () => {
    const node = await stakingNode(41);
    const { nodeId } = node.agent;
    // The region cannot be reached for this node while the deposit is counted: D1 points the
    // node at a region whose object does not know it, so the push is refused and logged.
    await env.DB.prepare("UPDATE nodes SET region = 'ap-southeast' WHERE id = ?").bind(nodeId).run();
    await stake(node, 1_000n);
    expect(await told(nodeId)).toEqual({ told_tier: null, told_region: null });
    await env.DB.prepare("UPDATE nodes SET region = 'eu-west' WHERE id = ?").bind(nodeId).run();
    // The deposit counted, the region still lists the node without its tier ...
    expect(await tierIn(node.apiKey, nodeId, "eu-west")).toBe("none");
    // ... until the cron tells it.
    await cron();
    expect(await tierIn(node.apiKey, nodeId, "eu-west")).toBe("silver");
    expect(await told(nodeId)).toEqual({ told_tier: "silver", told_region: "eu-west" });
    // Nothing is stale any more: the next pass tells nobody about this node.
    const again = await syncStakeTiers(env);
    expect(again.stale).toBe(0);
  });

  it("a node that registers in another region takes its tier there on the next cron", async () => {
    const node = await stakingNode(42);
    const { nodeId } = node.agent;
    await stake(node, 100n);
    expect(await told(nodeId)).toEqual({ told_tier: "bronze", told_region: "eu-west" });
    expect(await tierIn(node.apiKey, nodeId, "eu-west")).toBe("bronze");

    await node.agent.register(hardware([h100Numbered(9_142)]), {
      labels: { site: "stake" },
      region: "us-east",
    });
    for (let i = 0; i < 100 && (await d1Region(nodeId)) !== "us-east"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await d1Region(nodeId)).toBe("us-east");
    expect(await tierIn(node.apiKey, nodeId, "us-east")).toBe("none");
    await cron();
    expect(await tierIn(node.apiKey, nodeId, "us-east")).toBe("bronze");
    expect(await told(nodeId)).toEqual({ told_tier: "bronze", told_region: "us-east" });
  });

  it("a tier the region acknowledged but the stake no longer earns (a crash before the push) is corrected", async () => {
    const node = await stakingNode(43);
    const { nodeId } = node.agent;
    await stake(node, 100n);
    expect(await tierIn(node.apiKey, nodeId, "eu-west")).toBe("bronze");
    // As if the process died after the stake moved in D1 and before the region heard of it.
    await env.DB.prepare("UPDATE node_stakes SET staked_base = 10000000000 WHERE node_id = ?")
      .bind(nodeId)
      .run();
    expect(await tierIn(node.apiKey, nodeId, "eu-west")).toBe("bronze");
    const pass = await syncStakeTiers(env);
    expect(pass.told).toBeGreaterThanOrEqual(1);
    expect(await tierIn(node.apiKey, nodeId, "eu-west")).toBe("gold");
    expect(await told(nodeId)).toEqual({ told_tier: "gold", told_region: "eu-west" });
  });
});
