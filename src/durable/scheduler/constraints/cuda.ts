import { versionKey, versionText } from "../version.js";
import type { NodeConstraint } from "./constraint.js";
import { lowerTo } from "./relax.js";

const FIELD = "placement.minCudaVersion";

export const cuda: NodeConstraint<"cuda", { minCudaVersion: number }> = {
  name: "cuda",
  scope: "node",
  keys: ["minCudaVersion"],
  field: FIELD,
  fact: {
    reads: ["cudaVersion"],
    arrives: "registration",
    source: "registration: the CUDA version the driver supports",
  },
  says: "supports an older CUDA, or reports none",
  fromSpec: (spec) => ({ minCudaVersion: versionKey(spec.placement?.minCudaVersion) }),
  fails: (state, demand) => {
    const least = demand.constraints.minCudaVersion;
    return least !== undefined && (state.cudaKey === undefined || state.cudaKey < least);
  },
  offers: ({ state }) => [state.cudaKey],
  relax: (observed, demand) =>
    lowerTo(FIELD, observed, demand.nodes, demand.constraints.minCudaVersion, versionText),
};
