import type { GpuConstraint } from "./constraint.js";
import { allowMost } from "./relax.js";

const FIELD = "resources.gpuModels";

export const gpuModel: GpuConstraint<"gpuModel", { gpuModels: readonly string[] }> = {
  name: "gpuModel",
  scope: "gpu",
  keys: ["gpuModels"],
  field: FIELD,
  fact: {
    reads: ["gpus[].model"],
    arrives: "registration",
    source: "registration: the GPU names, matched to the catalogue",
  },
  says: "has another GPU model",
  fromSpec: (spec) => ({ gpuModels: spec.resources.gpuModels }),
  fails: (group, demand) => {
    const models = demand.constraints.gpuModels;
    return models !== undefined && !models.includes(group.model);
  },
  offers: ({ roomy }) => roomy.map((group) => group.model),
  relax: (observed, demand) => allowMost(FIELD, observed, demand.nodes, ""),
};
