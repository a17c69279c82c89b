import type { NodeConstraint } from "./constraint.js";
import { lowerTo, twoDecimals } from "./relax.js";

const FIELD = "placement.minTflops";

export const tflops: NodeConstraint<"tflops", { minTflops: number }> = {
  name: "tflops",
  scope: "node",
  keys: ["minTflops"],
  field: FIELD,
  fact: {
    reads: ["verifiedTflops"],
    arrives: "verification",
    source: "the verification desk: dense TFLOP/s per GPU the node proved in a challenge",
  },
  says: "proved fewer TFLOP/s per GPU, or is not verified yet",
  fromSpec: (spec) => ({ minTflops: spec.placement?.minTflops }),
  fails: (state, demand) => {
    const least = demand.constraints.minTflops;
    const proved = state.node.verifiedTflops;
    return least !== undefined && (proved === undefined || proved < least);
  },
  offers: ({ state }) => [state.node.verifiedTflops],
  relax: (observed, demand) =>
    lowerTo(FIELD, observed, demand.nodes, demand.constraints.minTflops, twoDecimals),
};
