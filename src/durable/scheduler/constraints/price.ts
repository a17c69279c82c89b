import { formatUsd } from "../../../shared/money.js";
import type { NodeConstraint } from "./constraint.js";
import { raiseTo } from "./relax.js";

const FIELD = "maxPricePerGpuHour";

/** CPU-only work pays no GPU price, so the cap binds GPU jobs only. */
export const price: NodeConstraint<"price", { maxPricePerGpuHourMicros: number }> = {
  name: "price",
  scope: "node",
  keys: ["maxPricePerGpuHourMicros"],
  field: FIELD,
  fact: {
    reads: ["pricePerGpuHourMicros"],
    arrives: "registration",
    source: "registration: the provider's asking price",
  },
  says: "asks more per GPU-hour",
  fromSpec: (spec) => ({ maxPricePerGpuHourMicros: spec.maxPricePerGpuHour }),
  fails: (state, demand) => {
    const cap = demand.constraints.maxPricePerGpuHourMicros;
    return cap !== undefined && demand.gpus > 0 && state.node.pricePerGpuHourMicros > cap;
  },
  offers: ({ state }) => [state.node.pricePerGpuHourMicros],
  relax: (observed, demand) =>
    raiseTo(
      FIELD,
      FIELD,
      observed,
      demand.nodes,
      demand.constraints.maxPricePerGpuHourMicros,
      (micros) => micros,
      formatUsd,
    ),
};
