import { Hono } from "hono";
import { HealthView } from "../../shared/api.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";
import { regionsOf } from "../region-routing.js";

export const health = new Hono<AppEnv>().get(
  "/",
  doc({
    id: "health",
    tag: "Meta",
    summary: "Health and regions",
    auth: "none",
    response: {
      schema: HealthView,
      example: {
        ok: true,
        regions: ["eu-west"],
        defaultRegion: "eu-west",
        regionLocations: [{ id: "eu-west", lat: 50.1, lon: 8.7 }],
        time: "2026-12-01T08:00:00.000Z",
      },
    },
  }),
  (c) =>
    c.json({
      ok: true,
      regions: regionsOf(c.env).map((r) => r.id),
      defaultRegion: String(c.env.DEFAULT_REGION),
      regionLocations: regionsOf(c.env).map((r) => ({ id: r.id, lat: r.lat, lon: r.lon })),
      // In the body too: wrangler dev sends no Date header, and agents check their clock against this.
      time: new Date().toISOString(),
    } satisfies HealthView),
);
