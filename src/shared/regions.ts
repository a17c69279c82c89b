import { z } from "zod";

export const RegionId = z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'a region id like "eu-west"');

export const Region = z.object({
  id: RegionId,
  lat: z.number().min(-90).max(90),
  lon: z.number().min(-180).max(180),
});
export type Region = z.infer<typeof Region>;

export const RegionList = z.array(Region).min(1);

/** Great-circle distance in kilometres (haversine). */
export function distanceKm(aLat: number, aLon: number, bLat: number, bLon: number): number {
  const rad = Math.PI / 180;
  const dLat = (bLat - aLat) * rad;
  const dLon = (bLon - aLon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(aLat * rad) * Math.cos(bLat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function nearestRegion(regions: readonly Region[], lat: number, lon: number): Region | undefined {
  let best: Region | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const region of regions) {
    const d = distanceKm(lat, lon, region.lat, region.lon);
    if (d < bestDistance) {
      best = region;
      bestDistance = d;
    }
  }
  return best;
}

/** GET /v1/regions/:id: a region, its centroid, and the key its charge receipts are countersigned with. */
export const RegionView = Region.extend({
  /** The region's Ed25519 public key, base58; null where the deployment sets no REGION_SIGNING_SEED. */
  signingKey: z.string().min(32).max(44).nullable(),
});
export type RegionView = z.infer<typeof RegionView>;

/** GET /v1/regions: every region the deployment lists. */
export const RegionListView = z.object({ regions: z.array(RegionView) });
export type RegionListView = z.infer<typeof RegionListView>;

export const RegionIdParam = z.object({ id: RegionId });
