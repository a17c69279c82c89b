import type { NodeConstraint } from "./constraint.js";
import { dropWhenUnknown } from "./relax.js";

const FIELD = "placement.requireAttested";

/**
 * Only nodes whose every GPU attested in its last challenge (a device key NVIDIA provisioned signed
 * the region's nonce), not timing alone: for jobs that need the part's identity proven, which
 * timing cannot do for the parts a fast CPU can pass for (docs/VERIFICATION.md).
 */
export const attested: NodeConstraint<"attested", { requireAttested: boolean }> = {
  name: "attested",
  scope: "node",
  keys: ["requireAttested"],
  field: FIELD,
  fact: {
    reads: ["attested"],
    arrives: "verification",
    source: "the verification desk: every GPU's last challenge brought device attestation that held",
  },
  says: "is timing-verified, not attested",
  fromSpec: (spec) => ({ requireAttested: spec.placement?.requireAttested }),
  fails: (state, demand) => demand.constraints.requireAttested === true && state.node.attested !== true,
  offers: () => [undefined],
  relax: (observed, demand) => dropWhenUnknown(FIELD, observed, demand.nodes),
};
