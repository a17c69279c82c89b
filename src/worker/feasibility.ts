import { unwrap } from "../durable/rpc-result.js";
import { MeridianError } from "../shared/errors.js";
import type { JobSpec } from "../shared/job-spec.js";
import { distanceKm } from "../shared/regions.js";
import { regionStub, regionsOf } from "./region-routing.js";

/** How far from its centroid a region's nodes may be: a radius missing every centroid by more holds none. */
export const REGION_SPREAD_KM = 2_000;

/**
 * Refuses, at submit, a job no region could ever run — rather than queueing it forever: a
 * geographic radius that reaches no region, or a gang larger than every region's inventory.
 */
export async function requireFeasible(env: Env, spec: JobSpec): Promise<void> {
  const near = spec.placement?.near;
  if (near) {
    const reachable = regionsOf(env).filter(
      (region) => distanceKm(near.lat, near.lon, region.lat, region.lon) <= near.radiusKm + REGION_SPREAD_KM,
    );
    if (reachable.length === 0) {
      throw new MeridianError(
        422,
        "infeasible_job",
        `no region lies within ${near.radiusKm} km of (${near.lat}, ${near.lon})`,
        {
          constraint: "placement.near",
        },
      );
    }
  }
  const gang = spec.nodes ?? 1;
  if (gang > 1) {
    const counts = await Promise.all(
      regionsOf(env).map(async (region) => unwrap(await regionStub(env, region.id).nodeCount())),
    );
    const largest = Math.max(0, ...counts);
    if (gang > largest) {
      throw new MeridianError(
        422,
        "infeasible_job",
        `a gang of ${gang} nodes is larger than any region (the largest has ${largest} node(s))`,
        { constraint: "nodes", largestRegionNodes: largest },
      );
    }
  }
}
