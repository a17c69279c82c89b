import { z } from "zod";

/**
 * The fields every price suggestion answers with (GET /v1/pricing/suggest per GPU-hour,
 * GET /v1/pricing/cpu/suggest per vCPU-hour): the figures `boundSuggestion` (price-bounds.ts)
 * produces, as USD strings for people and µUSD integers for programs.
 */
export const SuggestedPriceFields = {
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
  belowReference: z.number(),
};
