import { Hono } from "hono";
import { unwrap } from "../../durable/rpc-result.js";
import { ReputationView } from "../../shared/provider-api.js";
import type { AppEnv } from "../hono-env.js";
import { regionOfNode } from "../node-records.js";
import { doc } from "../openapi/route-doc.js";
import { requireOperator } from "../operator-auth.js";
import { nodeStub } from "../region-routing.js";

/** Operator actions: lift a node's quarantine or expulsion (POST /v1/operator/nodes/:id/lift). */
export const operatorRoutes = new Hono<AppEnv>().post(
  "/nodes/:id/lift",
  doc({
    id: "liftNode",
    tag: "Operator",
    summary: "Lift a node's quarantine or expulsion",
    auth: "operator",
    response: { schema: ReputationView },
  }),
  requireOperator,
  async (c) => {
    const nodeId = c.req.param("id");
    const region = await regionOfNode(c.env.DB, nodeId);
    const view = unwrap(await nodeStub(c.env, region, nodeId).lift(nodeId));
    const body: ReputationView = {
      ...view,
      until: view.until === undefined ? null : new Date(view.until).toISOString(),
    };
    return c.json(body);
  },
);
