import { Hono } from "hono";
import type { z } from "zod";
import { unwrap } from "../../durable/rpc-result.js";
import { NodeList } from "../../shared/api.js";
import { NodeMetricsView } from "../../shared/provider-api.js";
import type { AppEnv } from "../hono-env.js";
import { regionOfNode } from "../node-records.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_NODE_VIEW } from "../openapi/sample-bodies.js";
import { regionNodes } from "../region-coordinator.js";
import { nodeStub, regionsOf } from "../region-routing.js";

/** GET /v1/nodes: the live inventory of every region, without the providers' private details. */
export const nodeRoutes = new Hono<AppEnv>()
  .get(
    "/",
    doc({
      id: "listNodes",
      tag: "Nodes",
      summary: "Nodes of every region",
      description:
        "Live inventory: GPUs, free GPUs, price, verified TFLOP/s, price per verified TFLOP-hour, reputation.",
      response: { schema: NodeList, example: { nodes: [SAMPLE_NODE_VIEW] } },
    }),
    async (c) => {
      const perRegion = await Promise.all(regionsOf(c.env).map((region) => regionNodes(c.env, region.id)));
      return c.json({ nodes: perRegion.flat() } satisfies z.input<typeof NodeList>);
    },
  )
  /** GET /v1/nodes/:id/metrics: the node's recent samples (GPU and host) and its health. */
  .get(
    "/:id/metrics",
    doc({
      id: "nodeMetrics",
      tag: "Nodes",
      summary: "A node's GPU and host metrics",
      description: "Recent samples, oldest first (kept in memory by the region), and the node's health.",
      response: { schema: NodeMetricsView },
    }),
    async (c) => {
      const nodeId = c.req.param("id");
      const region = await regionOfNode(c.env.DB, nodeId);
      const { series, health } = unwrap(await nodeStub(c.env, region, nodeId).nodeMetrics(nodeId));
      const body: NodeMetricsView = {
        nodeId,
        health: { hot: health.hot, gpuErrors: health.gpuErrors, notices: health.notices },
        series: series.map((sample) => ({ ...sample, at: new Date(sample.at).toISOString() })),
      };
      return c.json(body);
    },
  );
