import { CPU_PRICES } from "../../../shared/cpu-pricing.js";
import type { ScoreTerm } from "./term.js";

/**
 * `cheapest`: the inverse of what the job pays the node per hour of one unit (one µUSD added, so a
 * free node is finite): its GPU price, or for CPU-only work its price per vCPU-hour.
 */
export const cheapness: ScoreTerm = {
  name: "cheapness",
  says: "how little the node asks per GPU-hour (per vCPU-hour for CPU-only work)",
  normalise: "toBest",
  nodeOnly: true,
  value: (candidate, context) => {
    const node = candidate.state.node;
    const price =
      context.demand.gpus === 0
        ? (node.pricePerVcpuHourMicros ?? CPU_PRICES.vcpuHourMicros)
        : node.pricePerGpuHourMicros;
    return 1 / (price + 1);
  },
};
