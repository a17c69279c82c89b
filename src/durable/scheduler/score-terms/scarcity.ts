import { WHOLE_GPU_MILLI } from "../demand.js";
import type { ScoreTerm } from "./term.js";

/**
 * What a GPU stranded on the node (left without the CPU or memory to feed it) costs against one
 * the job takes: less, since a later job that asks for less CPU may still use it.
 */
const STRANDED_WEIGHT = 0.5;

/**
 * What the job would spend of a scarce model: the model's pressure times the GPUs it takes there,
 * and half that for each GPU its CPU and memory would strand there. A job without GPUs spends the
 * node's model only by stranding it (a CPU-only job on the few hosts of a scarce model).
 */
export const scarcity: ScoreTerm = {
  name: "scarcity",
  says: "GPUs of a model the expected workload needs more than it has, spent or stranded by this job",
  normalise: "none",
  value: (candidate, context) => {
    const { demand, pressure } = context;
    const model = candidate.group?.model ?? candidate.state.groups[0]?.model;
    const level = model === undefined ? 0 : (pressure.get(model) ?? 0);
    if (level === 0) return 0;
    const spent = demand.gpus * demand.gpuMilli + STRANDED_WEIGHT * Math.max(0, candidate.strandedDelta);
    return (level * spent) / WHOLE_GPU_MILLI;
  },
};
