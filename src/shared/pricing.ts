import { z } from "zod";
import { GPU_CATALOG, type GpuModel, gpuModelById } from "./gpu-catalog.js";
import { UsdAmount } from "./money.js";
import { type BoundedPrice, blendMarket, boundSuggestion, clamp } from "./price-bounds.js";
import { SuggestedPriceFields } from "./price-suggestion-view.js";
import { RegionId } from "./regions.js";

/**
 * Price suggestions for providers (issue 4).
 *
 * Why a decentralized offer sits 60–80% below a hyperscaler's on-demand price: the catalogue's
 * reference is what a cloud charges for a GPU in its own datacenter, with its margin, its
 * networking and storage bundled in, and a 99.9%+ availability promise. A provider here already
 * owns the hardware, pays for power and depreciation only, and sells time that would otherwise sit
 * idle; the user gets no SLA and may lose an attempt to a node going away. Community markets show
 * that gap (consumer and datacenter GPUs on peer marketplaces rent for roughly a quarter to a third
 * of hyperscaler on-demand rates), so the anchor is 30% of the reference (70% below), and
 * performance and market adjust it within bounds that keep a typical suggestion 60–80% below.
 */

/** The anchor as a fraction of the catalogue reference. */
export const MARKET_LEVEL = 0.3;
/** An honest part reaches about 80% of its datasheet in a real matmul (see thresholds.ts). */
const TYPICAL_DATASHEET_RATIO = 0.8;
/** Verified performance moves the price within these bounds. */
const PERFORMANCE_BOUNDS = { min: 0.75, max: 1.15 } as const;
/** Utilization moves the price up to ±20%: 0 → 0.8×, 0.5 → 1×, 1 → 1.2×. */
const UTILIZATION_SWING = 0.4;
/** GPU suggestions are whole cents. */
const CENT_MICROS = 10_000;

export interface PriceInput {
  model: GpuModel;
  /** Measured dense BF16 TFLOP/s per GPU, when the node is verified. */
  verifiedTflops?: number | undefined;
  /** Prices per GPU-hour (µUSD) of the region's listed nodes with this model. */
  offersMicros: readonly number[];
  /** Fraction 0..1 of this model's GPUs in the region that are busy. */
  utilization?: number | undefined;
  /** The provider's own floor (µUSD per GPU-hour), for `auto` pricing. */
  floorMicros?: number | undefined;
}

/** A GPU-hour suggestion: µUSD per GPU-hour. */
export type PriceSuggestion = BoundedPrice;

function usd(micros: number): string {
  return `$${(micros / 1_000_000).toFixed(2)}`;
}

/**
 * A suggested price per GPU-hour: the catalogue reference brought down to the decentralized
 * market's level, adjusted by the node's verified performance against a typical part, blended with
 * the region's median offer when there are enough of them, moved by the region's utilization, and
 * held between the floor (and the provider's own floor) and the ceiling.
 */
export function suggestPrice(input: PriceInput): PriceSuggestion {
  const reference = input.model.referencePriceMicrosPerHour;
  const reasons: string[] = [];
  let price = reference * MARKET_LEVEL;
  reasons.push(
    `${input.model.id} rents for ${usd(reference)}/h on demand at a hyperscaler; a peer market pays about ${Math.round(
      MARKET_LEVEL * 100,
    )}% of that: ${usd(price)}`,
  );

  if (input.verifiedTflops !== undefined && input.verifiedTflops > 0) {
    const typical = input.model.bf16Tflops * TYPICAL_DATASHEET_RATIO;
    const factor = clamp(input.verifiedTflops / typical, PERFORMANCE_BOUNDS.min, PERFORMANCE_BOUNDS.max);
    price *= factor;
    reasons.push(
      `verified at ${input.verifiedTflops.toFixed(0)} TFLOP/s against a typical ${typical.toFixed(0)}: ×${factor.toFixed(2)}`,
    );
  } else {
    reasons.push("not verified yet: priced as a typical part");
  }

  price = blendMarket(price, input.offersMicros, { offers: "offers", usd }, reasons);

  if (input.utilization !== undefined) {
    const utilization = clamp(input.utilization, 0, 1);
    const factor = 1 + (utilization - 0.5) * UTILIZATION_SWING;
    price *= factor;
    reasons.push(`${Math.round(utilization * 100)}% of these GPUs are busy: ×${factor.toFixed(2)}`);
  }

  return boundSuggestion({
    price,
    referenceMicros: reference,
    floorMicros: input.floorMicros,
    offersMicros: input.offersMicros,
    stepMicros: CENT_MICROS,
    usd: { floor: usd, ceiling: usd },
    reasons,
  });
}

/**
 * Price per verified TFLOP-hour in whole µUSD, for listings: what a user pays for compute rather
 * than for a card. Undefined without a usable verified figure.
 */
export function pricePerTflop(priceMicros: number, tflops: number | undefined): number | undefined {
  if (tflops === undefined || !Number.isFinite(tflops) || tflops <= 0) return undefined;
  return Math.round(priceMicros / tflops);
}

/** GET /v1/pricing/suggest query. */
export const PriceSuggestQuery = z
  .object({
    /** A catalogue model id, parsed to its catalogue entry. */
    gpu: z.string().transform((id, ctx) => {
      const model = gpuModelById(id);
      if (model) return model;
      ctx.addIssue({
        code: "custom",
        message: `a GPU model from the catalogue: ${GPU_CATALOG.map((entry) => entry.id).join(", ")}`,
      });
      return z.NEVER;
    }),
    region: RegionId,
    /** The node's verified TFLOP/s per GPU, when the provider has it. */
    verifiedTflops: z.coerce.number().positive().max(100_000).optional(),
    /** The provider's own floor per GPU-hour, USD. */
    floor: UsdAmount.optional(),
  })
  .strict();
export type PriceSuggestQuery = z.infer<typeof PriceSuggestQuery>;

/** GET /v1/pricing/suggest answer: USD strings for people, µUSD integers for programs. */
export const PriceSuggestionView = z.object({
  gpu: z.string(),
  region: z.string(),
  currency: z.literal("USD"),
  ...SuggestedPriceFields,
  market: z.object({
    offers: z.number().int(),
    median: z.string().nullable(),
    utilization: z.number().nullable(),
  }),
  reasons: z.array(z.string()),
});
export type PriceSuggestionView = z.infer<typeof PriceSuggestionView>;
