import { Hono } from "hono";
import type { AppEnv } from "../hono-env.js";
import { regionsOf } from "../region-routing.js";

export const health = new Hono<AppEnv>().get("/", (c) =>
  c.json({
    ok: true,
    regions: regionsOf(c.env).map((r) => r.id),
    defaultRegion: String(c.env.DEFAULT_REGION),
  }),
);
