import type { Context } from "hono";
import type { RegionObject } from "../durable/region-object.js";
import { shardCountOf } from "../durable/region-shard.js";
import { parseShardKey, shardName, shardObjectName, shardOf } from "../durable/scheduler/index.js";
import { MeridianError } from "../shared/errors.js";
import { nodeIdForPublicKey } from "../shared/ids.js";
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

/**
 * The region's first shard, `<region>`: the whole region where it is not sharded (REGION_SHARDS).
 * Calls about one node or one job go to its own shard (`nodeStub`, `jobStub`); calls about the
 * whole region ask every shard (region-coordinator.ts).
 */
export function regionStub(env: Env, region: string): DurableObjectStub<RegionObject> {
  return shardStub(env, region, 0);
}

/** One shard's Region object: `<region>` for shard 0, `<region>#<k>` for the others. */
export function shardStub(env: Env, region: string, index: number): DurableObjectStub<RegionObject> {
  return env.REGION.get(env.REGION.idFromName(shardObjectName(region, index)));
}

/** Every shard of a region, in index order. */
export function shardStubs(env: Env, region: string): DurableObjectStub<RegionObject>[] {
  return Array.from({ length: shardCountOf(env, region) }, (_, index) => shardStub(env, region, index));
}

/** The shard that holds a node: its id's hash (the node's own requests, tunnels, standing). */
export function nodeStub(env: Env, region: string, nodeId: string): DurableObjectStub<RegionObject> {
  return shardStub(env, region, nodeShard(env, region, nodeId));
}

export function nodeShard(env: Env, region: string, nodeId: string): number {
  return shardOf(nodeId, shardCountOf(env, region));
}

/** The shard key an agent may send to say which shard it expects to reach (`<region>#<k>`). */
export const SHARD_HEADER = "x-meridian-shard";

/**
 * The shard of a signed agent's node, whose id follows from its key. A shard key the agent sends
 * (`x-meridian-shard`, optional) is checked first, before any object is asked: one that names no
 * shard of the region is 404 `unknown_shard`; another shard than its node's, 409 `wrong_shard`
 * naming the node's own.
 */
export async function agentStub(
  env: Env,
  region: string,
  publicKey: string,
  shardKey?: string,
): Promise<DurableObjectStub<RegionObject>> {
  const count = shardCountOf(env, region);
  const nodeId = await nodeIdForPublicKey(publicKey);
  const own = shardOf(nodeId, count);
  if (shardKey !== undefined) {
    const named = parseShardKey(shardKey.trim(), region, count);
    if (named !== own) {
      throw new MeridianError(
        409,
        "wrong_shard",
        `node ${nodeId} belongs to shard ${shardName(region, own)}, not ${shardName(region, named)}`,
        { shard: shardName(region, own) },
      );
    }
  }
  return shardStub(env, region, own);
}

/** The shard that holds a job: its id's hash too (a shard draws the ids of the jobs it admits). */
export function jobStub(env: Env, region: string, jobId: string): DurableObjectStub<RegionObject> {
  return shardStub(env, region, shardOf(jobId, shardCountOf(env, region)));
}
