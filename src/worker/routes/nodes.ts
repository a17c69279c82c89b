import { Hono } from "hono";
import { unwrap } from "../../durable/rpc-result.js";
import type { AppEnv } from "../hono-env.js";
import { regionOfNode } from "../node-records.js";
import { regionStub, regionsOf } from "../region-routing.js";

/** GET /v1/nodes: the live inventory of every region, without the providers' private details. */
export const nodeRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const perRegion = await Promise.all(
      regionsOf(c.env).map(async (region) => unwrap(await regionStub(c.env, region.id).listNodes())),
    );
    return c.json({ nodes: perRegion.flat() });
  })
  /** GET /v1/nodes/:id/metrics: the node's recent samples (GPU and host) and its health. */
  .get("/:id/metrics", async (c) => {
    const nodeId = c.req.param("id");
    const region = await regionOfNode(c.env.DB, nodeId);
    const { series, health } = unwrap(await regionStub(c.env, region).nodeMetrics(nodeId));
    return c.json({
      nodeId,
      health: { hot: health.hot, gpuErrors: health.gpuErrors, notices: health.notices },
      series: series.map((sample) => ({ ...sample, at: new Date(sample.at).toISOString() })),
    });
  });
