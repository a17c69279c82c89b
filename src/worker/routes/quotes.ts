import { Hono } from "hono";
import { QuoteView } from "../../shared/api.js";
import { JobSpec } from "../../shared/job-spec.js";
import { requireReachable } from "../feasibility.js";
import type { AppEnv } from "../hono-env.js";
import { jsonBody } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_EXPLANATION, SAMPLE_IDS, SAMPLE_JOB_SPEC } from "../openapi/sample-bodies.js";
import { regionQuote } from "../region-coordinator.js";
import { chooseRegion } from "../region-routing.js";

/**
 * POST /v1/quotes: what a spec would get if submitted now — whether it places, on which nodes, the
 * price range, an estimated start — and, when it would wait, why and what would place it.
 */
export const quoteRoutes = new Hono<AppEnv>().post(
  "/",
  doc({
    id: "quoteJob",
    tag: "Jobs",
    summary: "Quote a job",
    description:
      "Would this spec place now: on which nodes, at what price, when it would start; if not, why and what would place it.",
    body: JobSpec,
    bodyExample: SAMPLE_JOB_SPEC,
    response: {
      schema: QuoteView,
      example: {
        region: "eu-west",
        placeable: true,
        nodes: [
          { nodeId: SAMPLE_IDS.node, rank: 1, pricePerGpuHour: "2.10", pricePerVcpuHour: null, gpus: 1 },
        ],
        pricePerGpuHour: { min: "2.10", max: "2.10" },
        pricePerVcpuHour: null,
        perHour: "2.10",
        estimatedStartAt: "2026-12-01T08:00:00.000Z",
        explanation: {
          ...SAMPLE_EXPLANATION,
          message: "placeable now",
          binding: null,
          busy: 0,
          estimatedStartAt: "2026-12-01T08:00:00.000Z",
        },
      },
    },
    errors: [422],
  }),
  async (c) => {
    const spec = await jsonBody(c, JobSpec);
    requireReachable(c.env, spec);
    const region = chooseRegion(c, spec.region);
    return c.json(await regionQuote(c.env, region, spec));
  },
);
