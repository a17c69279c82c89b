import type { NodeConstraint } from "./constraint.js";
import { lowerTo, twoDecimals } from "./relax.js";

const FIELD = "placement.minBandwidthGbps";

export const bandwidth: NodeConstraint<"bandwidth", { minBandwidthGbps: number }> = {
  name: "bandwidth",
  scope: "node",
  keys: ["minBandwidthGbps"],
  field: FIELD,
  fact: {
    reads: ["bandwidthGbps"],
    arrives: "registration",
    source: "the agent's measurement at registration (GET /v1/agent/bandwidth-probe) or its config",
  },
  says: "has less measured bandwidth, or none measured",
  fromSpec: (spec) => ({ minBandwidthGbps: spec.placement?.minBandwidthGbps }),
  fails: (state, demand) => {
    const least = demand.constraints.minBandwidthGbps;
    const measured = state.node.bandwidthGbps;
    return least !== undefined && (measured === undefined || measured < least);
  },
  offers: ({ state }) => [state.node.bandwidthGbps],
  relax: (observed, demand) =>
    lowerTo(FIELD, observed, demand.nodes, demand.constraints.minBandwidthGbps, twoDecimals),
};
