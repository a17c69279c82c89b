import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import type { z } from "zod";
import { nodeOwners } from "../../../schema/ledger.js";
import { nodes } from "../../../schema/tables.js";
import { unwrap } from "../../durable/rpc-result.js";
import { NodeList } from "../../shared/api.js";
import { ProviderNodeView, ReputationView } from "../../shared/provider-api.js";
import type { AppEnv } from "../hono-env.js";
import { regionOfOwnNode } from "../node-records.js";
import { doc } from "../openapi/route-doc.js";
import { regionNodes } from "../region-coordinator.js";
import { nodeStub } from "../region-routing.js";

/**
 * A provider's view of its own nodes: verification, reputation with its components, health and
 * current work (GET /v1/provider/nodes/:id), and the reputation alone (…/reputation).
 */
export const providerNodeRoutes = new Hono<AppEnv>()
  .get(
    "/",
    doc({
      id: "listProviderNodes",
      tag: "Provider",
      summary: "My nodes",
      description: "The nodes registered with the caller's API key (agent --owner-key), as listed to users.",
      response: { schema: NodeList },
    }),
    async (c) => {
      const owned = await drizzle(c.env.DB)
        .select({ nodeId: nodeOwners.nodeId, region: nodes.region })
        .from(nodeOwners)
        .innerJoin(nodes, eq(nodes.id, nodeOwners.nodeId))
        .where(eq(nodeOwners.accountId, c.get("accountId")))
        .all();
      const regions = [...new Set(owned.map((row) => row.region))];
      const ids = new Set(owned.map((row) => row.nodeId));
      const listed = await Promise.all(regions.map((region) => regionNodes(c.env, region)));
      return c.json({ nodes: listed.flat().filter((node) => ids.has(node.id)) } satisfies z.input<
        typeof NodeList
      >);
    },
  )
  .get(
    "/:id",
    doc({
      id: "getProviderNode",
      tag: "Provider",
      summary: "One of my nodes",
      description:
        "Its verification (per GPU: outcome, measured TFLOP/s and bandwidth, the verifier's reasons), reputation with its components, health and current work.",
      response: { schema: ProviderNodeView },
    }),
    async (c) => {
      const nodeId = c.req.param("id");
      const region = await regionOfOwnNode(c.env.DB, c.get("accountId"), nodeId);
      const view = unwrap(await nodeStub(c.env, region, nodeId).providerNode(nodeId));
      const body: ProviderNodeView = {
        ...view,
        status: view.node.status,
        reputation: {
          ...view.reputation,
          until: view.reputation.until === undefined ? null : new Date(view.reputation.until).toISOString(),
        },
      };
      return c.json(body);
    },
  )
  .get(
    "/:id/reputation",
    doc({
      id: "getProviderNodeReputation",
      tag: "Provider",
      summary: "One of my nodes' reputation",
      response: { schema: ReputationView },
    }),
    async (c) => {
      const nodeId = c.req.param("id");
      const region = await regionOfOwnNode(c.env.DB, c.get("accountId"), nodeId);
      const { reputation } = unwrap(await nodeStub(c.env, region, nodeId).providerNode(nodeId));
      const body: ReputationView = {
        ...reputation,
        until: reputation.until === undefined ? null : new Date(reputation.until).toISOString(),
      };
      return c.json(body);
    },
  );
