import { Hono } from "hono";
import { unwrap } from "../../durable/rpc-result.js";
import { JobSpec } from "../../shared/job-spec.js";
import { requireReachable } from "../feasibility.js";
import type { AppEnv } from "../hono-env.js";
import { jsonBody } from "../json-body.js";
import { chooseRegion, regionStub } from "../region-routing.js";

/**
 * POST /v1/quotes: what a spec would get if submitted now — whether it places, on which nodes, the
 * price range, an estimated start — and, when it would wait, why and what would place it.
 */
export const quoteRoutes = new Hono<AppEnv>().post("/", async (c) => {
  const spec = await jsonBody(c, JobSpec);
  requireReachable(c.env, spec);
  const region = chooseRegion(c, spec.region);
  return c.json(unwrap(await regionStub(c.env, region).quote(spec)));
});
