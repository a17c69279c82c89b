import type { NodeView } from "../shared/api.js";
import { DEFAULT_BILLING } from "../shared/billing.js";
import { CPU_PRICES, cpuHourMicros, listedVcpuHourMicros } from "../shared/cpu-pricing.js";
import type { JobSpec } from "../shared/job-spec.js";
import type { EstimateView } from "../shared/ledger-api.js";
import { formatUsd, parseUsd } from "../shared/money.js";
import { holdPlan, holdTermsOf } from "./hold-plan.js";

/**
 * Whether a live node could run the spec at all (capacity, models, VRAM, price caps). CPU and
 * memory capacity are the provider's reported figures (NodeView.hostVerified), as in placement.
 */
export function offerMatches(spec: JobSpec, node: NodeView, priceMicros: number): boolean {
  const wanted = spec.resources;
  if (node.status !== "online" || node.cpus < wanted.cpus || node.memoryGb < wanted.memoryGb) return false;
  if (spec.maxPricePerGpuHour !== undefined && priceMicros > spec.maxPricePerGpuHour) return false;
  if (wanted.gpus === 0 && spec.maxPricePerVcpuHour !== undefined) {
    if (listedVcpuHourMicros(node) > spec.maxPricePerVcpuHour) return false;
  }
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

/** One node's prices: per GPU-hour, and per vCPU-hour of CPU-only work. */
interface Offer {
  gpuMicros: number;
  vcpuMicros: number;
}

/**
 * The expected cost range of a spec over the nodes that could run it now (a CPU-only spec at each
 * node's own price per vCPU-hour for what it reserves, with memory at the CPU table's rate): per
 * hour, and for a run
 * to min(timeout, budget.maxHours) under the spec's billing mode, capped by budget.maxTotalUsd (the
 * most a run can cost at that offer). Offers are a snapshot; the price is fixed when the job is
 * placed. 400 `budget_below_minimum` when the budget cannot buy one billable unit even at the
 * cheapest offer (or maxHours is under a second), as the submit would answer.
 */
export function estimateCost(spec: JobSpec, offers: NodeView[]): EstimateView {
  const billing = spec.billing ?? DEFAULT_BILLING;
  const matching: Offer[] = [];
  for (const node of offers) {
    const gpuMicros = parseUsd(node.pricePerGpuHour);
    const vcpuMicros = listedVcpuHourMicros(node);
    if (gpuMicros !== undefined && offerMatches(spec, node, gpuMicros))
      matching.push({ gpuMicros, vcpuMicros });
  }
  const base = holdTermsOf(spec);
  const nodes = spec.nodes ?? 1;
  const termsAt = (offer: Offer) => ({
    ...base,
    pricePerGpuHourMicros: offer.gpuMicros,
    cpuHourMicros: cpuHourMicros(spec.resources, offer.vcpuMicros) * nodes,
  });
  const hourAt = (offer: Offer) => offer.gpuMicros * base.gpus + (termsAt(offer).cpuHourMicros ?? 0);
  const cap = spec.budget?.maxTotalUsd;
  // The full run at an offer, then capped by the budget: a dearer offer's minimum may pass the
  // budget, which only the cheapest offer is checked against.
  const runAt = (offer: Offer) => holdPlan({ ...termsAt(offer), budget: timeBudget(spec) });
  const totalAt = (offer: Offer) => {
    const full = runAt(offer).holdMicros;
    return cap === undefined ? full : Math.min(full, cap);
  };
  const cheapest = matching.reduce<Offer | undefined>(
    (best, offer) => (best === undefined || hourAt(offer) < hourAt(best) ? offer : best),
    undefined,
  );
  const plan = holdPlan(cheapest ? termsAt(cheapest) : { ...base, pricePerGpuHourMicros: 0 });
  const minimum = cheapest === undefined ? null : plan.minimumMicros;
  const prices = matching.map((offer) => offer.gpuMicros);
  return {
    currency: "USD",
    billingMode: billing.mode,
    gpus: spec.resources.gpus,
    timeoutSeconds: spec.timeoutSeconds,
    maxRunSeconds: plan.runSeconds,
    budgetCapped: matching.some((offer) => cap !== undefined && runAt(offer).holdMicros > cap),
    offers: matching.length,
    pricePerGpuHour: range(prices),
    perHour: range(matching.map(hourAt)),
    cpu: cpuTermsOf(spec, matching),
    maxTotal: range(matching.map(totalAt)),
    minimumCharge: minimum === null ? null : formatUsd(minimum),
    minimumChargeMicros: minimum,
    noOffersReason: prices.length > 0 ? null : whyNoOffers(spec, offers),
  };
}

/** Said plainly, with what would help: the commonest first case is a GPU job on a CPU-only network. */
function whyNoOffers(spec: JobSpec, offers: NodeView[]): string {
  const online = offers.filter((node) => node.status === "online");
  if (online.length === 0) return "no node is online in reach now; the job would wait for one to join";
  if (spec.resources.gpus > 0 && online.every((node) => node.gpus.length === 0)) {
    return `no node in reach has a GPU (the ${online.length} online are CPU-only): a GPU job waits until a GPU provider joins; set resources.gpus: 0 to run on CPU`;
  }
  return `none of the ${online.length} node(s) online matches the spec; POST /v1/quotes says which constraint binds`;
}

/**
 * A CPU-only spec's rates at the cheapest matching node's price per vCPU-hour (the CPU table's
 * when none is online), with the range over all of them; null for GPU work, whose GPU price covers
 * its host.
 */
function cpuTermsOf(spec: JobSpec, offers: readonly Offer[]): EstimateView["cpu"] {
  if (spec.resources.gpus > 0) return null;
  const vcpuPrices = offers.map((offer) => offer.vcpuMicros);
  const vcpu = vcpuPrices.length > 0 ? Math.min(...vcpuPrices) : CPU_PRICES.vcpuHourMicros;
  const perNode = cpuHourMicros(spec.resources, vcpu);
  return {
    vcpus: spec.resources.cpus,
    memoryGb: spec.resources.memoryGb,
    nodes: spec.nodes ?? 1,
    perVcpuHour: formatUsd(vcpu),
    perVcpuHourMicros: vcpu,
    perVcpuHourRange: range(vcpuPrices),
    perGbHour: formatUsd(CPU_PRICES.gbHourMicros),
    perGbHourMicros: CPU_PRICES.gbHourMicros,
    perNodeHour: formatUsd(perNode),
    perNodeHourMicros: perNode,
  };
}

function timeBudget(spec: JobSpec): JobSpec["budget"] {
  const maxHours = spec.budget?.maxHours;
  return maxHours === undefined ? undefined : { maxHours };
}
