import { z } from "zod";
import { formatUsd, parseUsd, UsdAmount } from "./money.js";
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

/**
 * A provider's own price per vCPU-hour (config `pricePerVcpuHour`, sent at registration), as GPU
 * providers set theirs per GPU-hour; a node that sets none asks the table's rate. Memory stays at
 * the table's GiB-hour rate, so CPU offers compare on one number as GPU offers do. At most $1 per
 * vCPU-hour: some thirty times a hyperscaler's on-demand rate, past which a price is a typo.
 */
export const MAX_VCPU_HOUR_MICROS = 1_000_000;
export const VcpuHourPrice = UsdAmount.refine((micros) => micros <= MAX_VCPU_HOUR_MICROS, {
  message: `must be at most ${formatUsd(MAX_VCPU_HOUR_MICROS)} USD per vCPU-hour`,
});

/**
 * The vCPU-hour cap a CPU-only job gets when it names none (`maxPricePerVcpuHour`) and no live
 * offer can run it yet: the hyperscaler's on-demand rate, so a job waiting for a node never pays
 * more than the cloud would have charged.
 */
export const DEFAULT_VCPU_HOUR_CAP_MICROS = CPU_REFERENCE.vcpuHourMicros;

/** A listed node's price per vCPU-hour in µUSD (the table's when the listing has none). */
export function listedVcpuHourMicros(node: { pricePerVcpuHour?: string | undefined }): number {
  return (
    (node.pricePerVcpuHour === undefined ? undefined : parseUsd(node.pricePerVcpuHour)) ??
    CPU_PRICES.vcpuHourMicros
  );
}

/** The resources a CPU price is taken from: what one node of the job reserves. */
export interface CpuResources {
  gpus: number;
  cpus: number;
  memoryGb: number;
}

/**
 * The hourly price of one node of a job for its CPUs and memory, in whole µUSD (rounded up, so a
 * provider is never paid for less than reserved): 0 for GPU work. `vcpuHourMicros` is the node's
 * own price (or the job's cap, for its hold); absent, the table's. `cpus` and `memoryGb` may be
 * fractions (0.5 vCPU, 0.25 GiB); the sum is rounded to a thousandth first so that binary fractions
 * such as 0.1 × 9,483 never round a whole µUSD up.
 */
export function cpuHourMicros(
  resources: CpuResources,
  vcpuHourMicros: number = CPU_PRICES.vcpuHourMicros,
): number {
  if (resources.gpus > 0) return 0;
  const exact = resources.cpus * vcpuHourMicros + resources.memoryGb * CPU_PRICES.gbHourMicros;
  return Math.ceil(Math.round(exact * 1000) / 1000);
}

/** GET /v1/pricing/cpu: the table CPU-only work is priced by where a node sets no price of its own. */
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
      "jobs with resources.gpus 0, per node, for the vCPUs and memory they reserve, at the node's own pricePerVcpuHour (this rate when its provider set none) and this GiB-hour rate; a GPU's price covers its host",
  };
}
