import { Hono } from "hono";
import type { NodeView } from "../../shared/api.js";
import {
  CpuPriceSuggestionView,
  CpuPriceSuggestQuery,
  suggestCpuPrice,
} from "../../shared/cpu-price-suggestion.js";
import {
  CPU_PRICES,
  CpuPriceTableView,
  cpuPriceTable,
  listedVcpuHourMicros,
} from "../../shared/cpu-pricing.js";
import { formatUsd, parseUsd } from "../../shared/money.js";
import type { BoundedPrice } from "../../shared/price-bounds.js";
import { PriceSuggestionView, PriceSuggestQuery, suggestPrice } from "../../shared/pricing.js";
import type { AppEnv } from "../hono-env.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { regionNodes } from "../region-coordinator.js";
import { requireKnownRegion } from "../region-routing.js";
import { requireAccount } from "../require-account.js";

/** The region's market for one model: the online offers' prices and how busy those GPUs are. */
function marketOf(nodes: readonly NodeView[], model: string): { offers: number[]; utilization?: number } {
  const offers: number[] = [];
  let total = 0;
  let free = 0;
  for (const node of nodes) {
    const count = node.gpus.filter((gpu) => gpu.model === model).length;
    if (node.status !== "online" || count === 0) continue;
    const price = parseUsd(node.pricePerGpuHour);
    if (price !== undefined) offers.push(price);
    total += count;
    // freeGpus counts every model on the node; a mixed node's free GPUs are assumed to be this model first.
    free += Math.min(node.freeGpus, count);
  }
  return total > 0 ? { offers, utilization: 1 - free / total } : { offers };
}

/**
 * The region's CPU offers: every online node's listed price per vCPU-hour (its provider's own, else
 * the table's), since CPU-only work can be placed on any node with the CPUs, GPU hosts included.
 */
function cpuOffersOf(nodes: readonly NodeView[]): number[] {
  return nodes.filter((node) => node.status === "online").map(listedVcpuHourMicros);
}

/**
 * GET /v1/pricing/suggest?gpu=H100-SXM&region=eu-west[&verifiedTflops=790][&floor=0.80]: a price per
 * GPU-hour for a provider, from the catalogue reference and the region's live offers. Behind an API
 * key: every call asks a Region object for its whole inventory. GET /v1/pricing/cpu: the CPU table.
 * GET /v1/pricing/cpu/suggest?region=eu-west[&floor=0.008]: a price per vCPU-hour for CPU-only work,
 * from the CPU table and the region's live CPU offers (cpu-price-suggestion.ts says the rule).
 */
/** A suggestion's figures as both views give them: USD strings for people, µUSD for programs. */
function suggestedFigures(suggestion: BoundedPrice) {
  return {
    suggested: formatUsd(suggestion.suggestedMicros),
    suggestedMicros: suggestion.suggestedMicros,
    range: {
      low: formatUsd(suggestion.range.lowMicros),
      high: formatUsd(suggestion.range.highMicros),
      lowMicros: suggestion.range.lowMicros,
      highMicros: suggestion.range.highMicros,
    },
    reference: formatUsd(suggestion.referenceMicros),
    referenceMicros: suggestion.referenceMicros,
    belowReference: Math.round(suggestion.belowReference * 1000) / 1000,
  };
}

const medianText = (suggestion: BoundedPrice): string | null =>
  suggestion.marketMedianMicros === null ? null : formatUsd(suggestion.marketMedianMicros);

export const pricingRoutes = new Hono<AppEnv>()
  .use("*", requireAccount)
  .get(
    "/suggest",
    doc({
      id: "suggestPrice",
      tag: "Provider",
      summary: "Suggest a price per GPU-hour",
      description: "From the catalogue's reference and the region's live offers.",
      query: PriceSuggestQuery,
      response: { schema: PriceSuggestionView },
    }),
    async (c) => {
      const query = queryOf(c, PriceSuggestQuery);
      const region = requireKnownRegion(c.env, query.region);
      const model = query.gpu;
      const market = marketOf(await regionNodes(c.env, region), model.id);
      const suggestion = suggestPrice({
        model,
        verifiedTflops: query.verifiedTflops,
        offersMicros: market.offers,
        utilization: market.utilization,
        floorMicros: query.floor,
      });
      const view: PriceSuggestionView = {
        gpu: model.id,
        region,
        currency: "USD",
        ...suggestedFigures(suggestion),
        market: {
          offers: market.offers.length,
          median: medianText(suggestion),
          utilization: market.utilization === undefined ? null : Math.round(market.utilization * 1000) / 1000,
        },
        reasons: suggestion.reasons,
      };
      return c.json(view);
    },
  )
  .get(
    "/cpu",
    doc({
      id: "cpuPrices",
      tag: "Jobs",
      summary: "The CPU price table",
      description:
        "What CPU-only work is charged per vCPU-hour and per GiB-hour of memory, and the reference it is anchored to.",
      response: { schema: CpuPriceTableView },
    }),
    (c) => c.json(cpuPriceTable()),
  )
  .get(
    "/cpu/suggest",
    doc({
      id: "suggestCpuPrice",
      tag: "Provider",
      summary: "Suggest a price per vCPU-hour",
      description:
        "For CPU-only work: from the CPU table (a hyperscaler's on-demand rate at the peer market's level) and the region's live CPU offers.",
      query: CpuPriceSuggestQuery,
      response: { schema: CpuPriceSuggestionView },
    }),
    async (c) => {
      const query = queryOf(c, CpuPriceSuggestQuery);
      const region = requireKnownRegion(c.env, query.region);
      const offers = cpuOffersOf(await regionNodes(c.env, region));
      const suggestion = suggestCpuPrice({ offersMicros: offers, floorMicros: query.floor });
      const view: CpuPriceSuggestionView = {
        region,
        currency: "USD",
        unit: "vCPU-hour",
        ...suggestedFigures(suggestion),
        tableRate: formatUsd(CPU_PRICES.vcpuHourMicros),
        market: {
          offers: offers.length,
          median: medianText(suggestion),
        },
        reasons: suggestion.reasons,
      };
      return c.json(view);
    },
  );
