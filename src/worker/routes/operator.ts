import { Hono } from "hono";
import { unwrap } from "../../durable/rpc-result.js";
import type { AppEnv } from "../hono-env.js";
import { regionOfNode } from "../node-records.js";
import { requireOperator } from "../operator-auth.js";
import { regionStub } from "../region-routing.js";

/** Operator actions: lift a node's quarantine or expulsion (POST /v1/operator/nodes/:id/lift). */
export const operatorRoutes = new Hono<AppEnv>().post("/nodes/:id/lift", requireOperator, async (c) => {
  const nodeId = c.req.param("id");
  const region = await regionOfNode(c.env.DB, nodeId);
  const view = unwrap(await regionStub(c.env, region).lift(nodeId));
  return c.json({ ...view, until: view.until === undefined ? null : new Date(view.until).toISOString() });
});
