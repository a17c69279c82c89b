import type { NodeView } from "../shared/api.js";
import { DEFAULT_BILLING } from "../shared/billing.js";
import { CPU_PRICES, cpuHourMicros } from "../shared/cpu-pricing.js";
import type { JobSpec } from "../shared/job-spec.js";
import type { EstimateView } from "../shared/ledger-api.js";
import { formatUsd, parseUsd } from "../shared/money.js";
import { holdPlan, holdTermsOf } from "./hold-plan.js";

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
 * The expected cost range of a spec over the nodes that could run it now (a CPU-only spec at the
 * CPU table's rates for what it reserves, on any of them): per hour, and for a run
 * to min(timeout, budget.maxHours) under the spec's billing mode, capped by budget.maxTotalUsd (the
 * most a run can cost at that offer). Offers are a snapshot; the price is fixed when the job is
 * placed. 400 `budget_below_minimum` when the budget cannot buy one billable unit even at the
 * cheapest offer (or maxHours is under a second), as the submit would answer.
 */
export function estimateCost(spec: JobSpec, offers: NodeView[]): EstimateView {
  const billing = spec.billing ?? DEFAULT_BILLING;
  const prices: number[] = [];
  for (const node of offers) {
    const price = parseUsd(node.pricePerGpuHour);
    if (price !== undefined && offerMatches(spec, node, price)) prices.push(price);
  }
  const base = holdTermsOf(spec);
  const cap = spec.budget?.maxTotalUsd;
  // The full run at a price, then capped by the budget: a dearer offer's minimum may pass the
  // budget, which only the cheapest offer is checked against.
  const runAt = (price: number) =>
    holdPlan({ ...base, pricePerGpuHourMicros: price, budget: timeBudget(spec) });
  const totalAt = (price: number) => {
    const full = runAt(price).holdMicros;
    return cap === undefined ? full : Math.min(full, cap);
  };
  const cheapest = prices.length > 0 ? Math.min(...prices) : undefined;
  const plan = holdPlan({ ...base, pricePerGpuHourMicros: cheapest ?? 0 });
  const minimum = cheapest === undefined ? null : plan.minimumMicros;
  return {
    currency: "USD",
    billingMode: billing.mode,
    gpus: spec.resources.gpus,
    timeoutSeconds: spec.timeoutSeconds,
    maxRunSeconds: plan.runSeconds,
    budgetCapped: prices.some((price) => cap !== undefined && runAt(price).holdMicros > cap),
    offers: prices.length,
    pricePerGpuHour: range(prices),
    perHour: range(prices.map((price) => price * base.gpus + (base.cpuHourMicros ?? 0))),
    cpu: cpuTermsOf(spec),
    maxTotal: range(prices.map(totalAt)),
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

/** The CPU table's rates for a CPU-only spec (null for GPU work, whose GPU price covers its host). */
function cpuTermsOf(spec: JobSpec): EstimateView["cpu"] {
  const perNode = cpuHourMicros(spec.resources);
  if (perNode === 0) return null;
  return {
    vcpus: spec.resources.cpus,
    memoryGb: spec.resources.memoryGb,
    nodes: spec.nodes ?? 1,
    perVcpuHour: formatUsd(CPU_PRICES.vcpuHourMicros),
    perVcpuHourMicros: CPU_PRICES.vcpuHourMicros,
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
