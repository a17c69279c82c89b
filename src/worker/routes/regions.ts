import { Hono } from "hono";
import { regionSigningKey } from "../../chain/receipts/region-signing-key.js";
import { MeridianError } from "../../shared/errors.js";
import { type Region, RegionIdParam, RegionListView, RegionView } from "../../shared/regions.js";
import type { AppEnv } from "../hono-env.js";
import { parseOrThrow } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { regionsOf } from "../region-routing.js";

const EXAMPLE: RegionView = {
  id: "eu-west",
  lat: 50.1,
  lon: 8.7,
  signingKey: "7Np4aXUzMZz3EcvXYDnYGt6FkJdyn3xmtgdV1mpxTXQz",
};

async function viewOf(env: Env, region: Region): Promise<RegionView> {
  const key = regionSigningKey(env, region.id);
  return { id: region.id, lat: region.lat, lon: region.lon, signingKey: key ? (await key).publicKey : null };
}

/**
 * GET /v1/regions and GET /v1/regions/:id: the regions, their centroids and the public keys they
 * countersign agents' usage statements with, for anyone checking a charge receipt's region
 * signature (`meridian receipts verify` reads it here).
 */
export const regionRoutes = new Hono<AppEnv>()
  .get(
    "/",
    doc({
      id: "listRegions",
      tag: "Meta",
      summary: "Regions and their signing keys",
      auth: "none",
      response: { schema: RegionListView, example: { regions: [EXAMPLE] } },
    }),
    async (c) => {
      const regions = await Promise.all(regionsOf(c.env).map((region) => viewOf(c.env, region)));
      return c.json({ regions } satisfies RegionListView);
    },
  )
  .get(
    "/:id",
    doc({
      id: "getRegion",
      tag: "Meta",
      summary: "A region and its signing key",
      description:
        "The region's centroid and the Ed25519 public key (base58) its countersignatures on charge receipts verify with; null where the deployment has no region signing secret.",
      auth: "none",
      response: { schema: RegionView, example: EXAMPLE },
      errors: [404],
    }),
    async (c) => {
      const { id } = parseOrThrow(RegionIdParam, { id: c.req.param("id") }, "the region id");
      const region = regionsOf(c.env).find((r) => r.id === id);
      if (!region) throw new MeridianError(404, "region_not_found", `no region "${id}"`);
      return c.json(await viewOf(c.env, region));
    },
  );
