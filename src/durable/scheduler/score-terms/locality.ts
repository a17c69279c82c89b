import { distanceKm } from "../../../shared/regions.js";
import type { ScoreTerm } from "./term.js";

/** Closeness: to the job's `near` point when both are known, else the node's round trip to its region. */
export const locality: ScoreTerm = {
  name: "locality",
  says: "closeness to the job's point, or a short round trip to the region",
  normalise: "none",
  value: (candidate, context) => {
    const node = candidate.state.node;
    const near = context.demand.constraints.near;
    if (near && node.lat !== undefined && node.lon !== undefined) {
      return 1 / (1 + distanceKm(near.lat, near.lon, node.lat, node.lon) / 100);
    }
    return node.rttMs === undefined ? 0 : 1 / (1 + node.rttMs / 10);
  },
};
