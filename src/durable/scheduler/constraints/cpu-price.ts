import { CPU_PRICES } from "../../../shared/cpu-pricing.js";
import { formatUsd } from "../../../shared/money.js";
import type { NodeConstraint } from "./constraint.js";
import { raiseTo } from "./relax.js";

const FIELD = "maxPricePerVcpuHour";

/** The node's own price per vCPU-hour (the CPU table's when its provider set none). */
const vcpuPrice = (price: number | undefined): number => price ?? CPU_PRICES.vcpuHourMicros;

/** The CPU-only counterpart of `price`: a GPU job's CPUs come with its GPUs' price, so it binds CPU work only. */
export const cpuPrice: NodeConstraint<"cpuPrice", { maxPricePerVcpuHourMicros: number }> = {
  name: "cpuPrice",
  scope: "node",
  keys: ["maxPricePerVcpuHourMicros"],
  field: FIELD,
  fact: {
    reads: ["pricePerVcpuHourMicros"],
    arrives: "registration",
    source: "registration: the provider's asking price per vCPU-hour (else the CPU table's)",
  },
  says: "asks more per vCPU-hour",
  fromSpec: (spec) => ({ maxPricePerVcpuHourMicros: spec.maxPricePerVcpuHour }),
  fails: (state, demand) => {
    const cap = demand.constraints.maxPricePerVcpuHourMicros;
    return cap !== undefined && demand.gpus === 0 && vcpuPrice(state.node.pricePerVcpuHourMicros) > cap;
  },
  offers: ({ state }) => [vcpuPrice(state.node.pricePerVcpuHourMicros)],
  relax: (observed, demand) =>
    raiseTo(
      FIELD,
      FIELD,
      observed,
      demand.nodes,
      demand.constraints.maxPricePerVcpuHourMicros,
      (micros) => micros,
      formatUsd,
    ),
};
