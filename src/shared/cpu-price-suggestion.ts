import { z } from "zod";
import { CPU_PRICES, CPU_REFERENCE, VcpuHourPrice } from "./cpu-pricing.js";
import { formatUsd } from "./money.js";
import { type BoundedPrice, blendMarket, boundSuggestion } from "./price-bounds.js";
import { SuggestedPriceFields } from "./price-suggestion-view.js";
import { MARKET_LEVEL } from "./pricing.js";
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

/** A vCPU-hour suggestion: µUSD per vCPU-hour. */
export type CpuPriceSuggestion = BoundedPrice;

export function suggestCpuPrice(input: CpuPriceInput): CpuPriceSuggestion {
  const reference = CPU_REFERENCE.vcpuHourMicros;
  const reasons: string[] = [];
  let price: number = CPU_PRICES.vcpuHourMicros;
  reasons.push(
    `a vCPU rents for $${formatUsd(reference)}/h on demand at a hyperscaler; a peer market pays about ${Math.round(
      MARKET_LEVEL * 100,
    )}% of that, the CPU table's $${formatUsd(price)}`,
  );

  const usd = (micros: number): string => `$${formatUsd(Math.round(micros))}`;
  price = blendMarket(price, input.offersMicros, { offers: "CPU offers", usd }, reasons);
  return boundSuggestion({
    price,
    referenceMicros: reference,
    floorMicros: input.floorMicros,
    offersMicros: input.offersMicros,
    stepMicros: STEP_MICROS,
    usd: {
      floor: (micros) => `$${formatUsd(Math.ceil(micros))}`,
      ceiling: (micros) => `$${formatUsd(Math.floor(micros))}`,
    },
    reasons,
  });
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
  ...SuggestedPriceFields,
  /** The CPU table's rate: what a node that sets no price asks. */
  tableRate: z.string(),
  market: z.object({ offers: z.number().int(), median: z.string().nullable() }),
  reasons: z.array(z.string()),
});
export type CpuPriceSuggestionView = z.infer<typeof CpuPriceSuggestionView>;
