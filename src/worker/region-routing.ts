import type { Context } from "hono";
import type { RegionObject } from "../durable/region-object.js";
import { MeridianError } from "../shared/errors.js";
import { nearestRegion, type Region, RegionList } from "../shared/regions.js";
import type { AppEnv } from "./hono-env.js";

let cached: { source: string; regions: Region[] } | undefined;

/** The regions configured in wrangler.toml's REGIONS var. */
export function regionsOf(env: Env): Region[] {
  const source = String(env.REGIONS);
  if (cached?.source !== source) cached = { source, regions: RegionList.parse(JSON.parse(source)) };
  return cached.regions;
}

export function requireKnownRegion(env: Env, region: string): string {
  if (!regionsOf(env).some((r) => r.id === region)) {
    const known = regionsOf(env)
      .map((r) => r.id)
      .join(", ");
    throw new MeridianError(400, "unknown_region", `unknown region "${region}"; regions: ${known}`);
  }
  return region;
}

/** The region named, else the one nearest the caller (Cloudflare's request.cf), else the default. */
export function chooseRegion(c: Context<AppEnv>, named: string | undefined): string {
  if (named) return requireKnownRegion(c.env, named);
  const cf = (c.req.raw as Request & { cf?: { latitude?: string; longitude?: string } }).cf;
  const lat = Number(cf?.latitude);
  const lon = Number(cf?.longitude);
  if (cf?.latitude !== undefined && Number.isFinite(lat) && Number.isFinite(lon)) {
    const nearest = nearestRegion(regionsOf(c.env), lat, lon);
    if (nearest) return nearest.id;
  }
  return requireKnownRegion(c.env, String(c.env.DEFAULT_REGION));
}

export function regionStub(env: Env, region: string): DurableObjectStub<RegionObject> {
  return env.REGION.get(env.REGION.idFromName(region));
}
