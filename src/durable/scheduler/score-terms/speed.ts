import type { ScoreTerm } from "./term.js";

/** `fastest`: verified TFLOP/s; an unverified node counts as the slowest verified candidate. */
export const speed: ScoreTerm = {
  name: "speed",
  says: "verified TFLOP/s per GPU",
  normalise: "toBest",
  value: (candidate, context) => candidate.state.node.verifiedTflops ?? context.fallbackTflops,
};
