import type { NodeConstraint } from "./constraint.js";
import { priceCap } from "./price-cap.js";

/** CPU-only work pays no GPU price, so the cap binds GPU jobs only. */
export const price: NodeConstraint<"price", { maxPricePerGpuHourMicros: number }> = priceCap({
  name: "price",
  field: "maxPricePerGpuHour",
  keys: ["maxPricePerGpuHourMicros"],
  reads: "pricePerGpuHourMicros",
  source: "registration: the provider's asking price",
  says: "asks more per GPU-hour",
  fromSpec: (spec) => ({ maxPricePerGpuHourMicros: spec.maxPricePerGpuHour }),
  cap: (demand) => demand.constraints.maxPricePerGpuHourMicros,
  binds: (demand) => demand.gpus > 0,
  asks: (node) => node.pricePerGpuHourMicros,
});
