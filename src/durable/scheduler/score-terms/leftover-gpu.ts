import type { Demand } from "../demand.js";
import type { NodeState } from "../node-state.js";
import type { ScoreTerm } from "./term.js";

/**
 * GPU capacity (thousandths) the node has left after the job: the plain best-fit's figure, and
 * nothing else, so the `bestFit` baseline is exactly the textbook heuristic.
 */
export function leftoverGpuMilli(state: NodeState, demand: Demand): number {
  let free = 0;
  for (let index = 0; index < state.freeMilli.length; index++) free += state.freeMilli[index] ?? 0;
  return free - demand.gpus * demand.gpuMilli;
}

export const leftoverGpu: ScoreTerm = {
  name: "leftoverGpu",
  says: "GPU capacity the node has left after the job, in thousandths of a GPU",
  normalise: "none",
  nodeOnly: true,
  value: (candidate, context) => leftoverGpuMilli(candidate.state, context.demand),
};
