import { CPU_PRICES } from "../../../shared/cpu-pricing.js";
import type { NodeConstraint } from "./constraint.js";
import { priceCap } from "./price-cap.js";

/** The CPU-only counterpart of `price`: a GPU job's CPUs come with its GPUs' price, so it binds CPU work only. */
export const cpuPrice: NodeConstraint<"cpuPrice", { maxPricePerVcpuHourMicros: number }> = priceCap({
  name: "cpuPrice",
  field: "maxPricePerVcpuHour",
  keys: ["maxPricePerVcpuHourMicros"],
  reads: "pricePerVcpuHourMicros",
  source: "registration: the provider's asking price per vCPU-hour (else the CPU table's)",
  says: "asks more per vCPU-hour",
  fromSpec: (spec) => ({ maxPricePerVcpuHourMicros: spec.maxPricePerVcpuHour }),
  cap: (demand) => demand.constraints.maxPricePerVcpuHourMicros,
  binds: (demand) => demand.gpus === 0,
  // The node's own price per vCPU-hour; the CPU table's when its provider set none.
  asks: (node) => node.pricePerVcpuHourMicros ?? CPU_PRICES.vcpuHourMicros,
});
