import type { ScoreTerm } from "./term.js";

/** The change in GPU capacity the node's free CPU and memory could no longer feed. */
export const stranding: ScoreTerm = {
  name: "stranding",
  says: "GPUs' worth of capacity stranded without CPU or memory to go with it",
  normalise: "perGpu",
  value: (candidate) => candidate.strandedDelta,
};
