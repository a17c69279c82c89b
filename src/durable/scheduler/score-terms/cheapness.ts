import type { ScoreTerm } from "./term.js";

/** `cheapest`: the inverse of the GPU price (one µUSD added, so a free node is finite). */
export const cheapness: ScoreTerm = {
  name: "cheapness",
  says: "how little the node asks per GPU-hour",
  normalise: "toBest",
  nodeOnly: true,
  value: (candidate) => 1 / (candidate.state.node.pricePerGpuHourMicros + 1),
};
