import { distanceKm } from "../../../shared/regions.js";
import type { GeoCircle } from "../demand.js";
import type { NodeConstraint } from "./constraint.js";
import { raiseTo } from "./relax.js";

const FIELD = "placement.near.radiusKm";

export const near: NodeConstraint<"near", { near: GeoCircle }> = {
  name: "near",
  scope: "node",
  keys: ["near"],
  field: FIELD,
  fact: {
    reads: ["lat", "lon"],
    arrives: "registration",
    source: "the agent's config (location.lat/lon), else Cloudflare's view of its connection (request.cf)",
  },
  says: "is outside the circle, or its location is unknown",
  fromSpec: (spec) => ({ near: spec.placement?.near }),
  fails: (state, demand) => {
    const circle = demand.constraints.near;
    if (!circle) return false;
    const { lat, lon } = state.node;
    const inside =
      lat !== undefined &&
      lon !== undefined &&
      distanceKm(circle.lat, circle.lon, lat, lon) <= circle.radiusKm;
    return !inside;
  },
  offers: ({ state, demand }) => {
    const circle = demand.constraints.near;
    const { lat, lon } = state.node;
    if (!circle || lat === undefined || lon === undefined) return [undefined];
    return [distanceKm(circle.lat, circle.lon, lat, lon)];
  },
  relax: (observed, demand) =>
    raiseTo(
      FIELD,
      "near.radiusKm",
      observed,
      demand.nodes,
      demand.constraints.near?.radiusKm,
      Math.ceil,
      (radius) => radius,
    ),
};
