import { Hono } from "hono";
import { estimateCost } from "../../ledger/estimate.js";
import type { NodeView } from "../../shared/api.js";
import { JobSpec } from "../../shared/job-spec.js";
import { EstimateView } from "../../shared/ledger-api.js";
import type { AppEnv } from "../hono-env.js";
import { jsonBody } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_GPU_SPEC } from "../openapi/sample-bodies.js";
import { regionNodes } from "../region-coordinator.js";
import { regionsOf, requireKnownRegion } from "../region-routing.js";

/** POST /v1/estimates with a job spec: the expected cost range from the offers live now. */
export const estimateRoutes = new Hono<AppEnv>().post(
  "/",
  doc({
    id: "estimateJob",
    tag: "Jobs",
    summary: "Estimate a job's cost",
    description:
      "The expected cost range of a spec from the offers online now (offers 0: no range can be given).",
    body: JobSpec,
    bodyExample: SAMPLE_GPU_SPEC,
    response: { schema: EstimateView },
  }),
  async (c) => {
    const spec = await jsonBody(c, JobSpec);
    const regions = spec.region
      ? [requireKnownRegion(c.env, spec.region)]
      : regionsOf(c.env).map((r) => r.id);
    const offers = await Promise.all(
      regions.map(async (region): Promise<NodeView[]> => {
        try {
          return regionNodes(c.env, region);
        } catch (error) {
          // An estimate from the regions that answered beats none; the gap is logged.
          console.error(JSON.stringify({ msg: "region did not list offers", region, error: String(error) }));
          return [];
        }
      }),
    );
    return c.json(estimateCost(spec, offers.flat()));
  },
);
