import { PRIOR_REPUTATION } from "../scheduler-node.js";
import type { ScoreTerm } from "./term.js";

/** `balanced`: TFLOP/s per dollar, weighed by reputation. */
export const valueForMoney: ScoreTerm = {
  name: "valueForMoney",
  says: "verified TFLOP/s per µUSD of GPU-hour, times reputation",
  normalise: "toBest",
  value: (candidate, context) => {
    const node = candidate.state.node;
    const tflops = node.verifiedTflops ?? context.fallbackTflops;
    return (tflops / (node.pricePerGpuHourMicros + 1)) * (node.reputation ?? PRIOR_REPUTATION);
  },
};
