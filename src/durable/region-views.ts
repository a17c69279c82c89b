import type { NodeView, PlacementExplanation, QuoteView } from "../shared/api.js";
import { CPU_PRICES, cpuHourMicros } from "../shared/cpu-pricing.js";
import { MeridianError } from "../shared/errors.js";
import type { JobSpec } from "../shared/job-spec.js";
import type { JobStatus } from "../shared/job-status.js";
import { formatUsd } from "../shared/money.js";
import { pricePerTflop } from "../shared/pricing.js";
import { keptOff } from "./lost-node-avoidance.js";
import type { NodeHealth } from "./node-metrics.js";
import type { RegionStanding } from "./node-standing.js";
import type { JobRecord } from "./region-records.js";
import type { RegionState } from "./region-state.js";
import type { ReputationView } from "./reputation/index.js";
import { demandFromSpec, type Explanation, explain, WHOLE_GPU_MILLI } from "./scheduler/index.js";
import { listedVramMib } from "./scheduler/node-from-record.js";
import type { VerificationStatus } from "./verification-desk.js";

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

function explanationView(explanation: Explanation): PlacementExplanation {
  return {
    message: explanation.message,
    binding: explanation.binding,
    totalNodes: explanation.totalNodes,
    failing: Object.fromEntries(
      Object.entries(explanation.failing).filter(([, n]) => n !== undefined),
    ) as Record<string, number>,
    busy: explanation.busy,
    relaxations: explanation.relaxations.map((r) => ({
      field: r.field,
      ...(r.value === undefined ? {} : { value: r.value }),
      text: r.text,
    })),
    estimatedStartAt: iso(explanation.estimatedStartAt),
  };
}

/** Why a queued job waits, from the scheduler's explanation (or its retry backoff). */
export function explainJob(state: RegionState, job: JobRecord, now: number): PlacementExplanation | null {
  if (job.status !== "queued") return null;
  if (job.retryAt !== null && job.retryAt > now) {
    return {
      message: `retrying in ${Math.ceil((job.retryAt - now) / 1000)} s ${job.retryAfter ?? `after attempt ${job.attempts} was lost`}`,
      binding: "retry_backoff",
      totalNodes: state.nodes.size,
      failing: {},
      busy: 0,
      relaxations: [],
      estimatedStartAt: iso(job.retryAt),
    };
  }
  const demand = demandFromSpec(job.spec, keptOff(job));
  const view = explanationView(explain(state.scheduler.inventory, demand, now));
  if (state.nodes.size === 0)
    return { ...view, message: `no nodes are registered in region ${state.region} yet` };
  // After a node's own fault, the nodes it avoids take the job back only once the wait is over.
  if (job.avoidUntil !== undefined && job.avoidUntil > now && view.binding !== null) {
    const wait = Math.ceil((job.avoidUntil - now) / 1000);
    const avoided = (job.avoidedNodes ?? []).join(", ");
    return {
      ...view,
      message: `${view.message}; ${avoided} may take it again in ${wait} s, after its own fault`,
    };
  }
  return view;
}

function rangeOf(prices: readonly number[]): { min: string; max: string } | null {
  return prices.length === 0
    ? null
    : { min: formatUsd(Math.min(...prices)), max: formatUsd(Math.max(...prices)) };
}

/** What a spec would get now: placement, price range, start estimate, and why not if it would not place. */
export function quoteSpec(state: RegionState, spec: JobSpec, now: number): QuoteView {
  const demand = demandFromSpec(spec);
  const placement = state.scheduler.decide(demand);
  const explanation = explanationView(explain(state.scheduler.inventory, demand, now));
  const prices: number[] = [];
  const cpuOnly = demand.gpus === 0;
  const vcpuPrices: number[] = [];
  const vcpuCap = demand.constraints.maxPricePerVcpuHourMicros;
  for (const node of state.scheduler.inventory.nodes()) {
    if (!node.node.schedulable) continue;
    const vcpuPrice = node.node.pricePerVcpuHourMicros ?? CPU_PRICES.vcpuHourMicros;
    if (cpuOnly && (vcpuCap === undefined || vcpuPrice <= vcpuCap)) vcpuPrices.push(vcpuPrice);
    const price = node.node.pricePerGpuHourMicros;
    if (
      demand.constraints.maxPricePerGpuHourMicros !== undefined &&
      price > demand.constraints.maxPricePerGpuHourMicros
    )
      continue;
    if (node.node.gpus.length < demand.gpus) continue;
    prices.push(price);
  }
  // A CPU-only spec pays each node's price per vCPU-hour for what it reserves there.
  const perHour = placement
    ? placement.nodes.reduce(
        (sum, node) =>
          sum +
          node.pricePerGpuHourMicros * node.gpuUuids.length +
          cpuHourMicros(spec.resources, node.pricePerVcpuHourMicros),
        0,
      )
    : null;
  return {
    region: state.region,
    placeable: placement !== null,
    nodes: (placement?.nodes ?? []).map((node) => ({
      nodeId: node.nodeId,
      rank: node.rank,
      pricePerGpuHour: formatUsd(node.pricePerGpuHourMicros),
      pricePerVcpuHour: cpuOnly ? formatUsd(node.pricePerVcpuHourMicros ?? CPU_PRICES.vcpuHourMicros) : null,
      gpus: node.gpuUuids.length,
    })),
    pricePerGpuHour: rangeOf(prices),
    pricePerVcpuHour: rangeOf(vcpuPrices),
    perHour: perHour === null ? null : formatUsd(perHour),
    estimatedStartAt: placement ? new Date(now).toISOString() : explanation.estimatedStartAt,
    explanation,
  };
}

/** The live inventory a user may rent from, without the providers' private details. */
export function listNodes(state: RegionState, now: number, standing: RegionStanding): NodeView[] {
  return [...state.nodes.values()].map((node) => {
    const indexed = state.scheduler.inventory.node(node.id);
    const tflops = standing.verifiedTflops(node.id);
    const listedModels = standing.listedModels(node.id);
    const perTflop = tflops === undefined ? undefined : pricePerTflop(node.pricePerGpuHourMicros, tflops);
    const freeGpus = indexed
      ? Array.from(indexed.freeMilli).filter((milli) => milli === WHOLE_GPU_MILLI).length
      : 0;
    return {
      id: node.id,
      region: node.region,
      // Live but taking no new work (outside its operating windows, or shutting down): draining.
      status: !state.isLive(node.id, now)
        ? "offline"
        : state.isAcceptingWork(node.id)
          ? "online"
          : "draining",
      // Listed as the part its verification measured it as (the scheduler matches and prices that).
      gpus: node.hardware.gpus.map((gpu) => {
        const listed = listedModels?.get(gpu.uuid);
        return {
          index: gpu.index,
          model: listed ?? gpu.model ?? null,
          claimedModel: gpu.model ?? null,
          name: gpu.name,
          vramGb: Math.round((listedVramMib(gpu.vramMib, gpu.model, listed) / 1024) * 10) / 10,
        };
      }),
      freeGpus,
      // The agent's word: nothing the region runs measures the host (hostVerified says so).
      cpus: node.hardware.cpus,
      memoryGb: Math.round((node.hardware.memoryMib / 1024) * 10) / 10,
      hostVerified: false,
      pricePerGpuHour: formatUsd(node.pricePerGpuHourMicros),
      pricePerVcpuHour: formatUsd(node.pricePerVcpuHourMicros ?? CPU_PRICES.vcpuHourMicros),
      cpuPriceSource: node.pricePerVcpuHourMicros === undefined ? "table" : "node",
      labels: node.labels,
      site: node.labels.site ?? null,
      verification:
        node.hardware.gpus.length === 0
          ? "not_required"
          : (standing.desk.status(node.id)?.outcome ?? "unverified"),
      assurance: standing.desk.status(node.id)?.assurance ?? null,
      verifiedTflops: tflops ?? null,
      pricePerVerifiedTflopHour: perTflop === undefined ? null : formatUsd(perTflop),
      reputation: Math.round(standing.book.score(node.id, now) * 1000) / 1000,
      stakeTier: node.stakeTier ?? "none",
    };
  });
}

/** What a provider sees of its node: standing, verification, reputation with its parts, health, work. */
export interface ProviderNodeView {
  node: NodeView;
  verification: VerificationStatus | null;
  reputation: ReputationView;
  health: NodeHealth;
  jobs: { jobId: string; attemptId: string; status: JobStatus }[];
}

export function providerNodeView(
  state: RegionState,
  standing: RegionStanding,
  nodeId: string,
  now: number,
): ProviderNodeView {
  const view = listNodes(state, now, standing).find((n) => n.id === nodeId);
  if (!view) throw new MeridianError(404, "node_not_found", `no node ${nodeId} in this region`);
  return {
    node: view,
    verification: view.gpus.length === 0 ? null : (standing.desk.status(nodeId) ?? null),
    reputation: standing.book.view(nodeId, now),
    health: standing.health(nodeId, state.nodes.get(nodeId)),
    jobs: state.jobsOnNode(nodeId),
  };
}
