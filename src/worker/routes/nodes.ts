import { Hono } from "hono";
import { unwrap } from "../../durable/rpc-result.js";
import type { AppEnv } from "../hono-env.js";
import { regionStub, regionsOf } from "../region-routing.js";

/** GET /v1/nodes: the live inventory of every region, without the providers' private details. */
export const nodeRoutes = new Hono<AppEnv>().get("/", async (c) => {
  const perRegion = await Promise.all(
    regionsOf(c.env).map(async (region) => unwrap(await regionStub(c.env, region.id).listNodes())),
  );
  return c.json({ nodes: perRegion.flat() });
});
