import { MeridianError } from "../shared/errors.js";
import type { JobSpec } from "../shared/job-spec.js";
import { distanceKm } from "../shared/regions.js";
import { regionsOf } from "./region-routing.js";

/** How far from its centroid a region's nodes may be: a radius missing every centroid by more holds none. */
export const REGION_SPREAD_KM = 2_000;

/**
 * Refuses, at submit, a job no region could ever run — rather than queueing it forever: a
 * geographic radius that reaches no region. (A gang larger than its region's inventory is refused
 * by the region itself, in the same call that admits the job.)
 */
export function requireReachable(env: Env, spec: JobSpec): void {
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
}
