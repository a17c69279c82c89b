import { versionKey, versionText } from "../version.js";
import type { GpuConstraint } from "./constraint.js";
import { lowerTo } from "./relax.js";

const FIELD = "placement.minComputeCapability";

export const computeCapability: GpuConstraint<"computeCapability", { minComputeCapability: number }> = {
  name: "computeCapability",
  scope: "gpu",
  keys: ["minComputeCapability"],
  field: FIELD,
  fact: {
    reads: ["gpus[].computeCapability"],
    arrives: "registration",
    source: "registration: each GPU's compute capability",
  },
  says: "has GPUs of an older compute capability, or reports none",
  fromSpec: (spec) => ({ minComputeCapability: versionKey(spec.placement?.minComputeCapability) }),
  fails: (group, demand) => {
    const least = demand.constraints.minComputeCapability;
    return (
      least !== undefined && (group.minComputeCapability === undefined || group.minComputeCapability < least)
    );
  },
  rulesOutModel: (reach, demand) => {
    const least = demand.constraints.minComputeCapability;
    return least !== undefined && reach.maxComputeCapability < least;
  },
  offers: ({ roomy }) => [Math.max(...roomy.map((group) => group.minComputeCapability ?? 0))],
  relax: (observed, demand) =>
    lowerTo(FIELD, observed, demand.nodes, demand.constraints.minComputeCapability, versionText),
};
