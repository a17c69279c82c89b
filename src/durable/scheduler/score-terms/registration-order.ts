import type { ScoreTerm } from "./term.js";

/** The order nodes first registered in: first-fit's only figure. */
export const registrationOrder: ScoreTerm = {
  name: "registrationOrder",
  says: "when the node first registered",
  normalise: "none",
  nodeOnly: true,
  value: (candidate) => candidate.state.seq,
};
