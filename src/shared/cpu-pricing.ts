import { z } from "zod";
import { formatUsd } from "./money.js";
import { MARKET_LEVEL } from "./pricing.js";

/**
 * The price table of CPU-only work (issue 10): per vCPU-hour and per GiB-hour of memory, the way a
 * cloud prices a VM it sizes to order.
 *
 * The anchor is Google Cloud's N2 general-purpose machine family, on demand in us-central1 (Google
 * Cloud "VM instance pricing", N2 predefined: $0.031611 per vCPU-hour and $0.004237 per GB-hour; an
 * AWS m7i.large, 2 vCPUs and 8 GiB for $0.1008/h, comes to within 4% of the same two rates). The
 * network's rate is that reference brought to the peer market's level, as GPU suggestions are
 * (`MARKET_LEVEL`, 30% of the hyperscaler price): a provider's CPU time is otherwise idle and sold
 * without an SLA. The table is code, like the GPU catalogue, so a hold fixed at submit and the
 * charge at the attempt's end always read the same rates; a change is a change to this file.
 *
 * Only CPU-only work (`resources.gpus: 0`) is charged by it. A GPU job's price per GPU-hour already
 * covers the host CPU and memory that come with the GPUs, as on GPU clouds that rent by the card.
 */
export const CPU_REFERENCE = {
  /** µUSD per vCPU-hour, on demand at a hyperscaler. */
  vcpuHourMicros: 31_611,
  /** µUSD per GiB-hour of memory, on demand at a hyperscaler. */
  gbHourMicros: 4_237,
} as const;

/** What the network charges for CPU-only work, integer µUSD. */
export const CPU_PRICES = {
  vcpuHourMicros: Math.round(CPU_REFERENCE.vcpuHourMicros * MARKET_LEVEL),
  gbHourMicros: Math.round(CPU_REFERENCE.gbHourMicros * MARKET_LEVEL),
} as const;

/** The resources a CPU price is taken from: what one node of the job reserves. */
export interface CpuResources {
  gpus: number;
  cpus: number;
  memoryGb: number;
}

/**
 * The hourly price of one node of a job for its CPUs and memory, in whole µUSD (rounded up, so a
 * provider is never paid for less than reserved): 0 for GPU work. `cpus` and `memoryGb` may be
 * fractions (0.5 vCPU, 0.25 GiB); the sum is rounded to a thousandth first so that binary fractions
 * such as 0.1 × 9,483 never round a whole µUSD up.
 */
export function cpuHourMicros(resources: CpuResources): number {
  if (resources.gpus > 0) return 0;
  const exact = resources.cpus * CPU_PRICES.vcpuHourMicros + resources.memoryGb * CPU_PRICES.gbHourMicros;
  return Math.ceil(Math.round(exact * 1000) / 1000);
}

/** GET /v1/pricing/cpu: the table CPU-only work is charged by, and what it is anchored to. */
export const CpuPriceTableView = z.object({
  currency: z.literal("USD"),
  perVcpuHour: z.string(),
  perVcpuHourMicros: z.number().int(),
  perGbHour: z.string(),
  perGbHourMicros: z.number().int(),
  reference: z.object({
    perVcpuHour: z.string(),
    perGbHour: z.string(),
    source: z.string(),
  }),
  /** The reference's fraction the network charges. */
  marketLevel: z.number(),
  appliesTo: z.string(),
});
export type CpuPriceTableView = z.infer<typeof CpuPriceTableView>;

export function cpuPriceTable(): CpuPriceTableView {
  return {
    currency: "USD",
    perVcpuHour: formatUsd(CPU_PRICES.vcpuHourMicros),
    perVcpuHourMicros: CPU_PRICES.vcpuHourMicros,
    perGbHour: formatUsd(CPU_PRICES.gbHourMicros),
    perGbHourMicros: CPU_PRICES.gbHourMicros,
    reference: {
      perVcpuHour: formatUsd(CPU_REFERENCE.vcpuHourMicros),
      perGbHour: formatUsd(CPU_REFERENCE.gbHourMicros),
      source: "Google Cloud N2, on demand, us-central1",
    },
    marketLevel: MARKET_LEVEL,
    appliesTo:
      "jobs with resources.gpus 0, per node, for the vCPUs and memory they reserve; a GPU's price covers its host",
  };
}
