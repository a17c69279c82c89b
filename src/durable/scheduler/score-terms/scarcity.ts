import { WHOLE_GPU_MILLI } from "../demand.js";
import type { ScoreTerm } from "./term.js";

/** What the job would spend of a scarce model: the model's pressure times the GPUs it takes there. */
export const scarcity: ScoreTerm = {
  name: "scarcity",
  says: "GPUs of a model the expected workload needs more than it has, spent on this job",
  normalise: "none",
  value: (candidate, context) => {
    const { demand, pressure } = context;
    const model = candidate.group?.model;
    const level = model === undefined ? 0 : (pressure.get(model) ?? 0);
    return (level * demand.gpus * demand.gpuMilli) / WHOLE_GPU_MILLI;
  },
};
