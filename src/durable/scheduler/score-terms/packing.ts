import { type Demand, WHOLE_GPU_MILLI } from "../demand.js";
import type { NodeState } from "../node-state.js";
import type { ScoreTerm } from "./term.js";

/**
 * Share of the node's GPU, CPU and memory capacity left free after the job: less is a better fit.
 * CPU and memory capacity are the agent's unverified report (docs/VERIFICATION.md); inflating them
 * only leaves more "free" and so ranks the node lower, never higher.
 */
export function leftoverShare(state: NodeState, demand: Demand): number {
  const node = state.node;
  let freeGpu = 0;
  for (let index = 0; index < state.freeMilli.length; index++) freeGpu += state.freeMilli[index] ?? 0;
  const gpuLeft =
    node.gpus.length === 0
      ? 0
      : (freeGpu - demand.gpus * demand.gpuMilli) / (node.gpus.length * WHOLE_GPU_MILLI);
  const cpuLeft = (state.freeCpuMilli - demand.cpuMilli) / Math.max(1, node.cpuMilli);
  const memoryLeft = (state.freeMemoryMib - demand.memoryMib) / Math.max(1, node.memoryMib);
  return gpuLeft + cpuLeft + memoryLeft;
}

export const packing: ScoreTerm = {
  name: "packing",
  says: "the node's capacity left free after the job (as shares of GPU, CPU and memory)",
  normalise: "none",
  nodeOnly: true,
  value: (candidate, context) => leftoverShare(candidate.state, context.demand),
};
