import type { GpuConstraint } from "./constraint.js";
import { lowerTo } from "./relax.js";

const FIELD = "resources.minVramGb";

export const vram: GpuConstraint<"vram", { minVramMib: number }> = {
  name: "vram",
  scope: "gpu",
  keys: ["minVramMib"],
  field: FIELD,
  fact: {
    reads: ["gpus[].vramMib"],
    arrives: "registration",
    source: "registration: each GPU's memory as nvidia-smi reports it",
  },
  says: "has GPUs with less memory",
  fromSpec: (spec) => ({
    minVramMib: spec.resources.minVramGb === undefined ? undefined : spec.resources.minVramGb * 1024,
  }),
  fails: (group, demand) => {
    const least = demand.constraints.minVramMib;
    return least !== undefined && group.minVramMib < least;
  },
  rulesOutModel: (reach, demand) => {
    const least = demand.constraints.minVramMib;
    return least !== undefined && reach.maxVramMib < least;
  },
  offers: ({ roomy }) => [Math.max(...roomy.map((group) => group.minVramMib))],
  relax: (observed, demand) =>
    lowerTo(FIELD, observed, demand.nodes, demand.constraints.minVramMib, (mib) => Math.floor(mib / 1024)),
};
