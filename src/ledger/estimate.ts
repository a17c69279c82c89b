import type { NodeView } from "../shared/api.js";
import type { Billing } from "../shared/billing.js";
import type { JobSpec } from "../shared/job-spec.js";
import type { EstimateView } from "../shared/ledger-api.js";
import { formatUsd, parseUsd } from "../shared/money.js";
import { maxCost, minimumCharge } from "./meter.js";

/** Whether a live node could run the spec at all (capacity, models, VRAM, price cap). */
export function offerMatches(spec: JobSpec, node: NodeView, priceMicros: number): boolean {
  const wanted = spec.resources;
  if (node.status !== "online" || node.cpus < wanted.cpus || node.memoryGb < wanted.memoryGb) return false;
  if (spec.maxPricePerGpuHour !== undefined && priceMicros > spec.maxPricePerGpuHour) return false;
  const usable = node.gpus.filter(
    (gpu) =>
      (wanted.gpuModels === undefined || (gpu.model !== null && wanted.gpuModels.includes(gpu.model))) &&
      (wanted.minVramGb === undefined || gpu.vramGb >= wanted.minVramGb),
  );
  return usable.length >= wanted.gpus;
}

function range(values: number[]): { min: string; minMicros: number; max: string; maxMicros: number } | null {
  if (values.length === 0) return null;
  const min = Math.min(...values);
  const max = Math.max(...values);
  return { min: formatUsd(min), minMicros: min, max: formatUsd(max), maxMicros: max };
}

/**
 * The expected cost range of a spec over the nodes that could run it now: per hour, and to the
 * spec's timeout (the most a run can cost, which is what a submit holds). Offers are a snapshot;
 * the price is fixed when the job is placed.
 */
export function estimateCost(
  spec: JobSpec,
  offers: NodeView[],
  billing: Billing = { mode: "per_second" },
): EstimateView {
  const prices: number[] = [];
  for (const node of offers) {
    const price = parseUsd(node.pricePerGpuHour);
    if (price !== undefined && offerMatches(spec, node, price)) prices.push(price);
  }
  const terms = (price: number) => ({
    pricePerGpuHourMicros: price,
    gpus: spec.resources.gpus,
    mode: billing.mode,
    fixedPriceMicros: billing.fixedPrice,
  });
  const cheapest = prices.length > 0 ? Math.min(...prices) : undefined;
  const minimum = cheapest === undefined ? null : minimumCharge(terms(cheapest));
  return {
    currency: "USD",
    billingMode: billing.mode,
    gpus: spec.resources.gpus,
    timeoutSeconds: spec.timeoutSeconds,
    offers: prices.length,
    pricePerGpuHour: range(prices),
    perHour: range(prices.map((price) => price * spec.resources.gpus)),
    maxTotal: range(prices.map((price) => maxCost(terms(price), spec.timeoutSeconds))),
    minimumCharge: minimum === null ? null : formatUsd(minimum),
    minimumChargeMicros: minimum,
  };
}
