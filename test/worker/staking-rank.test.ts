import { afterEach, describe, expect, it } from "vitest";
import { stake, stakingNode, tiers } from "./staking-nodes.js";
import { authed, call, drainAgents, h100Numbered, hardware, jsonInit, signup, submit } from "./support.js";

const spec = {
  image: "meridian/busybox:test",
  command: ["true"],
  region: "eu-west",
  timeoutSeconds: 600,
  resources: { gpus: 1 },
};

/** The node one GPU would be placed on now, as POST /v1/quotes answers. */
async function quotedNode(apiKey: string): Promise<string> {
  const res = await call("/v1/quotes", jsonInit("POST", { ...spec, name: "q" }, apiKey));
  expect(res.status).toBe(200);
  const quote = (await res.json()) as { placeable: boolean; nodes: { nodeId: string }[] };
  expect(quote.placeable).toBe(true);
  const [first] = quote.nodes;
  if (!first) throw new Error("a placeable quote named no node");
  return first.nodeId;
}

describe("stake tiers in listing and ranking", () => {
  afterEach(drainAgents);

  it("lists a staked node at its tier and places work on it before a close unstaked offer", async () => {
    const { apiKey } = await signup();
    // A cent apart: unstaked, the cheaper node wins whatever order the nodes are indexed in.
    const winner = await stakingNode(1, "2.00");
    const loser = await stakingNode(2, "2.01");
    expect(await tiers(apiKey)).toMatchObject({
      [winner.agent.nodeId]: "none",
      [loser.agent.nodeId]: "none",
    });
    expect(await quotedNode(apiKey)).toBe(winner.agent.nodeId);
    await stake(loser, 1_000n);
    expect(await tiers(apiKey)).toMatchObject({
      [loser.agent.nodeId]: "silver",
      [winner.agent.nodeId]: "none",
    });
    expect(await quotedNode(apiKey)).toBe(loser.agent.nodeId);

    const res = await submit(apiKey, { ...spec, name: "staked" });
    expect(res.status).toBe(201);
    const { id } = (await res.json()) as { id: string };
    const placed = (await loser.agent.poll()).assignments;
    expect(placed.map((x) => x.jobId)).toEqual([id]);
    expect((await winner.agent.poll()).assignments).toHaveLength(0);
    const cancelled = await call(`/v1/jobs/${id}/cancel`, authed(apiKey, "POST"));
    expect(cancelled.status).toBeLessThan(300);
  });

  it("drops the tier when the stake is unstaked, and keeps it across a re-registration", async () => {
    const { apiKey } = await signup();
    const node = await stakingNode(3);
    await stake(node, 100n);
    expect((await tiers(apiKey))[node.agent.nodeId]).toBe("bronze");
    // The agent restarts and registers again: the region keeps what the stake earns.
    await node.agent.register(hardware([h100Numbered(9_103)]), { labels: { site: "stake" } });
    expect((await tiers(apiKey))[node.agent.nodeId]).toBe("bronze");
    const res = await call(
      `/v1/provider/staking/${node.agent.nodeId}/unstake`,
      jsonInit("POST", { amount: "60" }, node.apiKey),
    );
    expect(res.status).toBe(201);
    expect((await tiers(apiKey))[node.agent.nodeId]).toBe("none");
  });
});
