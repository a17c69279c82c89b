import { PRIOR_REPUTATION } from "../scheduler-node.js";
import type { ScoreTerm } from "./term.js";

/** `reliable`, and every CPU-only job: the node's reputation, the prior for a node without history. */
export const reliability: ScoreTerm = {
  name: "reliability",
  says: "the node's reputation",
  normalise: "toBest",
  nodeOnly: true,
  value: (candidate) => candidate.state.node.reputation ?? PRIOR_REPUTATION,
};
