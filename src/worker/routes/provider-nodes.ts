import { Hono } from "hono";
import { unwrap } from "../../durable/rpc-result.js";
import type { AppEnv } from "../hono-env.js";
import { regionOfOwnNode } from "../node-records.js";
import { regionStub } from "../region-routing.js";

/**
 * A provider's view of its own nodes: verification, reputation with its components, health and
 * current work (GET /v1/provider/nodes/:id), and the reputation alone (…/reputation).
 */
export const providerNodeRoutes = new Hono<AppEnv>()
  .get("/:id", async (c) => {
    const nodeId = c.req.param("id");
    const region = await regionOfOwnNode(c.env.DB, c.get("accountId"), nodeId);
    const view = unwrap(await regionStub(c.env, region).providerNode(nodeId));
    return c.json({
      ...view,
      status: view.node.status,
      reputation: {
        ...view.reputation,
        until: view.reputation.until === undefined ? null : new Date(view.reputation.until).toISOString(),
      },
    });
  })
  .get("/:id/reputation", async (c) => {
    const nodeId = c.req.param("id");
    const region = await regionOfOwnNode(c.env.DB, c.get("accountId"), nodeId);
    const { reputation } = unwrap(await regionStub(c.env, region).providerNode(nodeId));
    return c.json({
      ...reputation,
      until: reputation.until === undefined ? null : new Date(reputation.until).toISOString(),
    });
  });
