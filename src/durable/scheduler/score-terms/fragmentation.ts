import type { ScoreTerm } from "./term.js";

/** FGD: the change in GPU capacity the expected workload could not use, if the job goes here. */
export const fragmentation: ScoreTerm = {
  name: "fragmentation",
  says: "GPUs' worth of capacity the placement leaves unusable for the expected workload",
  normalise: "perGpu",
  value: (candidate) => candidate.fragmentationDelta,
};
