/**
 * The steps every price suggestion shares (GPU-hour in pricing.ts, vCPU-hour in
 * cpu-price-suggestion.ts): the region's median offer blended in once there are enough offers, then
 * the price held between the floor (and the provider's own) and the ceiling, in whole steps, with a
 * range around it. Each caller says how it writes money and what it calls its offers.
 */

/** Never suggest below this fraction of the reference: under it power alone is rarely covered. */
export const FLOOR_FRACTION = 0.1;
/** Never suggest above this fraction: a no-SLA offer priced near the cloud loses to the cloud. */
export const CEILING_FRACTION = 0.5;
/** Offers needed before the market's median counts, and how much it counts then. */
export const MIN_OFFERS = 3;
export const MARKET_WEIGHT = 0.5;
/** The range is ±15% around the suggestion. */
export const RANGE_SPREAD = 0.15;

export interface BoundedPrice {
  /** µUSD per unit (GPU-hour or vCPU-hour). */
  suggestedMicros: number;
  range: { lowMicros: number; highMicros: number };
  referenceMicros: number;
  /** How far below the reference the suggestion is, 0..1. */
  belowReference: number;
  /** The median of the offers, when any. */
  marketMedianMicros: number | null;
  reasons: string[];
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

export function medianOf(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? 0;
  return sorted.length % 2 === 1 ? upper : ((sorted[middle - 1] ?? upper) + upper) / 2;
}

/** `price` with the offers' median blended in when there are `MIN_OFFERS` of them; says which. */
export function blendMarket(
  price: number,
  offersMicros: readonly number[],
  words: { offers: string; usd: (micros: number) => string },
  reasons: string[],
): number {
  const median = medianOf(offersMicros);
  if (median !== null && offersMicros.length >= MIN_OFFERS) {
    reasons.push(
      `${offersMicros.length} ${words.offers} in the region, median ${words.usd(median)}: blended in equally`,
    );
    return (1 - MARKET_WEIGHT) * price + MARKET_WEIGHT * median;
  }
  reasons.push(`${offersMicros.length} ${words.offers} in the region: too few for a market price`);
  return price;
}

export interface BoundInput {
  price: number;
  referenceMicros: number;
  /** The provider's own floor, µUSD per unit. */
  floorMicros?: number | undefined;
  offersMicros: readonly number[];
  /** Suggestions are whole multiples of this (µUSD). */
  stepMicros: number;
  /** How the floor and the ceiling read in a reason. */
  usd: { floor: (micros: number) => string; ceiling: (micros: number) => string };
  reasons: string[];
}

/** The suggestion: `price` between the floor and the ceiling, in whole steps rounded inward. */
export function boundSuggestion(input: BoundInput): BoundedPrice {
  const { price, referenceMicros: reference, stepMicros: step, reasons } = input;
  const floor = Math.max(reference * FLOOR_FRACTION, input.floorMicros ?? 0);
  const ceiling = Math.max(reference * CEILING_FRACTION, floor);
  if (price < floor) reasons.push(`raised to the floor of ${input.usd.floor(floor)}`);
  if (price > ceiling) reasons.push(`capped at ${input.usd.ceiling(ceiling)}, half the cloud price`);
  const toStep = (micros: number): number => Math.round(micros / step) * step;
  // Whole steps, rounded inward where the bounds are not whole steps themselves.
  const lowest = Math.ceil(floor / step) * step;
  const highest = Math.max(Math.floor(ceiling / step) * step, lowest);
  const suggested = clamp(toStep(price), lowest, highest);
  const median = medianOf(input.offersMicros);
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
