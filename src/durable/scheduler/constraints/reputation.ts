import type { NodeConstraint } from "./constraint.js";
import { lowerTo, twoDecimals } from "./relax.js";

const FIELD = "placement.minReputation";

export const reputation: NodeConstraint<"reputation", { minReputation: number }> = {
  name: "reputation",
  scope: "node",
  keys: ["minReputation"],
  field: FIELD,
  fact: {
    reads: ["reputation"],
    arrives: "history",
    source: "the region's record of the node's attempts and verifications",
  },
  says: "has a lower reputation, or none yet",
  fromSpec: (spec) => ({ minReputation: spec.placement?.minReputation }),
  fails: (state, demand) => {
    const least = demand.constraints.minReputation;
    const score = state.node.reputation;
    return least !== undefined && (score === undefined || score < least);
  },
  offers: ({ state }) => [state.node.reputation],
  relax: (observed, demand) =>
    lowerTo(FIELD, observed, demand.nodes, demand.constraints.minReputation, twoDecimals),
};
