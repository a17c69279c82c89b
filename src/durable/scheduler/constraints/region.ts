import type { NodeConstraint } from "./constraint.js";
import { allowMost } from "./relax.js";

const FIELD = "placement.regions";

export const region: NodeConstraint<"region", { regions: readonly string[] }> = {
  name: "region",
  scope: "node",
  keys: ["regions"],
  field: FIELD,
  fact: { reads: ["region"], arrives: "registration", source: "registration: the region the agent joined" },
  says: "is in another region",
  fromSpec: (spec) => ({
    regions: spec.placement?.regions ?? (spec.region === undefined ? undefined : [spec.region]),
  }),
  fails: (state, demand) => {
    const regions = demand.constraints.regions;
    return regions !== undefined && !regions.includes(state.node.region);
  },
  offers: ({ state }) => [state.node.region],
  relax: (observed, demand) => allowMost(FIELD, observed, demand.nodes, "region "),
};
