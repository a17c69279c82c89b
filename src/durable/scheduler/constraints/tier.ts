import type { GpuTier } from "../../../shared/gpu-catalog.js";
import type { GpuConstraint } from "./constraint.js";
import { allowMost } from "./relax.js";

const FIELD = "placement.tiers";

export const tier: GpuConstraint<"tier", { tiers: readonly GpuTier[] }> = {
  name: "tier",
  scope: "gpu",
  keys: ["tiers"],
  field: FIELD,
  fact: {
    reads: ["gpus[].model"],
    arrives: "registration",
    source: "registration, through the GPU catalogue",
  },
  says: "has GPUs of another tier",
  fromSpec: (spec) => ({ tiers: spec.placement?.tiers }),
  fails: (group, demand) => {
    const tiers = demand.constraints.tiers;
    return tiers !== undefined && (group.tier === undefined || !tiers.includes(group.tier));
  },
  rulesOutModel: (reach, demand) => {
    const tiers = demand.constraints.tiers;
    return tiers !== undefined && !tiers.some((wanted) => reach.tiers.has(wanted));
  },
  offers: ({ roomy }) => roomy.map((group) => group.tier),
  relax: (observed, demand) => allowMost(FIELD, observed, demand.nodes, "tier "),
};
