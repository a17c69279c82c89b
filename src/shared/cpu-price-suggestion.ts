import { z } from "zod";
import { CPU_PRICES, CPU_REFERENCE, VcpuHourPrice } from "./cpu-pricing.js";
import { formatUsd } from "./money.js";
import {
  CEILING_FRACTION,
  clamp,
  FLOOR_FRACTION,
  MARKET_LEVEL,
  MARKET_WEIGHT,
  MIN_OFFERS,
  medianOf,
  RANGE_SPREAD,
} from "./pricing.js";
import { RegionId } from "./regions.js";

/**
 * A suggested price per vCPU-hour for a provider's CPU-only work (issue 10), by the rule GPU
 * suggestions follow (pricing.ts), with the CPU table in the catalogue's place:
 *
 * 1. Start at the CPU table's rate: the hyperscaler reference (`CPU_REFERENCE`, Google Cloud N2 on
 *    demand) at the peer market's level (`MARKET_LEVEL`, 30%), which is what a node that sets no
 *    price asks anyway.
 * 2. With at least `MIN_OFFERS` live offers in the region (each online node's listed vCPU-hour price:
 *    its provider's own, else the table's, since CPU-only work can be placed on any node), blend in
 *    their median with the same weight as GPU offers.
 * 3. Hold it between 10% and 50% of the reference (`FLOOR_FRACTION`, `CEILING_FRACTION`), and never
 *    below the provider's own floor.
 *
 * No performance or utilization step: a vCPU is not verified the way a GPU's TFLOP/s are, and
 * listings carry no free-CPU figure to measure how busy a region's CPUs are. A vCPU-hour costs about
 * a cent, so suggestions are whole hundredths of a cent (100 µUSD) where GPU suggestions are whole
 * cents; the range is the same ±15% around it.
 */
const STEP_MICROS = 100;

export interface CpuPriceInput {
  /** Prices per vCPU-hour (µUSD) the region's online nodes list. */
  offersMicros: readonly number[];
  /** The provider's own floor (µUSD per vCPU-hour), for `auto` pricing. */
  floorMicros?: number | undefined;
}

export interface CpuPriceSuggestion {
  /** µUSD per vCPU-hour. */
  suggestedMicros: number;
  range: { lowMicros: number; highMicros: number };
  referenceMicros: number;
  /** How far below the reference the suggestion is, 0..1. */
  belowReference: number;
  marketMedianMicros: number | null;
  reasons: string[];
}

const toStep = (micros: number): number => Math.round(micros / STEP_MICROS) * STEP_MICROS;

export function suggestCpuPrice(input: CpuPriceInput): CpuPriceSuggestion {
  const reference = CPU_REFERENCE.vcpuHourMicros;
  const reasons: string[] = [];
  let price: number = CPU_PRICES.vcpuHourMicros;
  reasons.push(
    `a vCPU rents for $${formatUsd(reference)}/h on demand at a hyperscaler; a peer market pays about ${Math.round(
      MARKET_LEVEL * 100,
    )}% of that, the CPU table's $${formatUsd(price)}`,
  );

  const median = medianOf(input.offersMicros);
  if (median !== null && input.offersMicros.length >= MIN_OFFERS) {
    price = (1 - MARKET_WEIGHT) * price + MARKET_WEIGHT * median;
    reasons.push(
      `${input.offersMicros.length} CPU offers in the region, median $${formatUsd(Math.round(median))}: blended in equally`,
    );
  } else {
    reasons.push(`${input.offersMicros.length} CPU offers in the region: too few for a market price`);
  }

  const floor = Math.max(reference * FLOOR_FRACTION, input.floorMicros ?? 0);
  const ceiling = Math.max(reference * CEILING_FRACTION, floor);
  if (price < floor) reasons.push(`raised to the floor of $${formatUsd(Math.ceil(floor))}`);
  if (price > ceiling) reasons.push(`capped at $${formatUsd(Math.floor(ceiling))}, half the cloud price`);
  // Whole steps, rounded inward where the bounds are not whole steps themselves.
  const lowest = Math.ceil(floor / STEP_MICROS) * STEP_MICROS;
  const highest = Math.max(Math.floor(ceiling / STEP_MICROS) * STEP_MICROS, lowest);
  const suggested = clamp(toStep(price), lowest, highest);
  return {
    suggestedMicros: suggested,
    range: {
      lowMicros: clamp(toStep(suggested * (1 - RANGE_SPREAD)), lowest, suggested),
      highMicros: clamp(toStep(suggested * (1 + RANGE_SPREAD)), suggested, highest),
    },
    referenceMicros: reference,
    belowReference: 1 - suggested / reference,
    marketMedianMicros: median === null ? null : Math.round(median),
    reasons,
  };
}

/** GET /v1/pricing/cpu/suggest query. */
export const CpuPriceSuggestQuery = z
  .object({
    region: RegionId,
    /** The provider's own floor per vCPU-hour, USD (at most the $1 any vCPU-hour price may be). */
    floor: VcpuHourPrice.optional(),
  })
  .strict();

/** GET /v1/pricing/cpu/suggest answer: USD strings for people, µUSD integers for programs. */
export const CpuPriceSuggestionView = z.object({
  region: z.string(),
  currency: z.literal("USD"),
  unit: z.literal("vCPU-hour"),
  suggested: z.string(),
  suggestedMicros: z.number().int(),
  range: z.object({
    low: z.string(),
    high: z.string(),
    lowMicros: z.number().int(),
    highMicros: z.number().int(),
  }),
  reference: z.string(),
  referenceMicros: z.number().int(),
  /** The CPU table's rate: what a node that sets no price asks. */
  tableRate: z.string(),
  belowReference: z.number(),
  market: z.object({ offers: z.number().int(), median: z.string().nullable() }),
  reasons: z.array(z.string()),
});
export type CpuPriceSuggestionView = z.infer<typeof CpuPriceSuggestionView>;
