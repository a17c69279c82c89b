import type { JobSpec } from "../shared/job-spec.js";
import type { AttemptRecord, NodeRecord } from "./region-records.js";

/**
 * First-fit placement: the first live node whose free GPUs, CPU and memory satisfy the job.
 * Pure: it sees the nodes, what is reserved on them and which are live, and decides nothing else.
 */

export interface NodeCapacity {
  node: NodeRecord;
  live: boolean;
  acceptingWork: boolean;
  /** Reservations held on this node by active attempts. */
  reserved: readonly AttemptRecord[];
}

export interface Placement {
  nodeId: string;
  gpuUuids: string[];
}

/** Why nodes cannot take a job, counted per constraint; a node is counted once, at its first failure. */
export interface Shortfall {
  nodes: number;
  runtime: number;
  gpus: number;
  cpus: number;
  memory: number;
  price: number;
  excluded: number;
  offline: number;
  busy: number;
}

function matchingGpus(node: NodeRecord, spec: JobSpec): string[] {
  const minVramMib = (spec.resources.minVramGb ?? 0) * 1024;
  const models = spec.resources.gpuModels;
  return node.hardware.gpus
    .filter((gpu) => gpu.vramMib >= minVramMib)
    .filter((gpu) => models === undefined || (gpu.model !== undefined && models.includes(gpu.model)))
    .map((gpu) => gpu.uuid);
}

const jobMemoryMib = (spec: JobSpec): number => Math.ceil(spec.resources.memoryGb * 1024);

/** The first capacity constraint the node fails even when empty, or null when it could run the job. */
function staticMisfit(node: NodeRecord, spec: JobSpec): keyof Shortfall | null {
  if (node.runtime !== "docker") return "runtime";
  if (matchingGpus(node, spec).length < spec.resources.gpus) return "gpus";
  if (node.hardware.cpus < spec.resources.cpus) return "cpus";
  if (node.hardware.memoryMib < jobMemoryMib(spec)) return "memory";
  if (
    spec.maxPricePerGpuHour !== undefined &&
    spec.resources.gpus > 0 &&
    node.pricePerGpuHourMicros > spec.maxPricePerGpuHour
  ) {
    return "price";
  }
  return null;
}

function freeFit(capacity: NodeCapacity, spec: JobSpec): string[] | null {
  const reservedGpus = new Set(capacity.reserved.flatMap((attempt) => attempt.gpuUuids));
  const usedCpus = capacity.reserved.reduce((sum, attempt) => sum + attempt.cpus, 0);
  const usedMemory = capacity.reserved.reduce((sum, attempt) => sum + attempt.memoryMib, 0);
  const { node } = capacity;
  if (node.hardware.cpus - usedCpus < spec.resources.cpus) return null;
  if (node.hardware.memoryMib - usedMemory < jobMemoryMib(spec)) return null;
  const free = matchingGpus(node, spec).filter((uuid) => !reservedGpus.has(uuid));
  if (free.length < spec.resources.gpus) return null;
  return free.slice(0, spec.resources.gpus);
}

export function placeFirstFit(
  capacities: readonly NodeCapacity[],
  spec: JobSpec,
  excludedNodes: readonly string[],
): Placement | null {
  for (const capacity of capacities) {
    if (!capacity.live || !capacity.acceptingWork || excludedNodes.includes(capacity.node.id)) continue;
    if (staticMisfit(capacity.node, spec) !== null) continue;
    const gpuUuids = freeFit(capacity, spec);
    if (gpuUuids) return { nodeId: capacity.node.id, gpuUuids };
  }
  return null;
}

export function countShortfall(
  capacities: readonly NodeCapacity[],
  spec: JobSpec,
  excludedNodes: readonly string[],
): Shortfall {
  const counts: Shortfall = {
    nodes: capacities.length,
    runtime: 0,
    gpus: 0,
    cpus: 0,
    memory: 0,
    price: 0,
    excluded: 0,
    offline: 0,
    busy: 0,
  };
  for (const capacity of capacities) {
    const misfit = staticMisfit(capacity.node, spec);
    if (misfit) counts[misfit]++;
    else if (excludedNodes.includes(capacity.node.id)) counts.excluded++;
    else if (!capacity.live || !capacity.acceptingWork) counts.offline++;
    else counts.busy++;
  }
  return counts;
}

/** A sentence the user can act on: why the job waits, and whether waiting can ever help. */
export function pendingReason(region: string, shortfall: Shortfall, spec: JobSpec): string {
  if (shortfall.nodes === 0) return `no nodes are registered in region ${region} yet`;
  if (shortfall.busy > 0)
    return `waiting for free capacity: ${shortfall.busy} matching node(s) in ${region} are busy`;
  if (shortfall.offline > 0)
    return `waiting: the ${shortfall.offline} matching node(s) in ${region} are offline or draining`;
  const parts: string[] = [];
  const r = spec.resources;
  if (shortfall.gpus > 0) {
    const which = r.gpuModels ? ` of model ${r.gpuModels.join("|")}` : "";
    const vram = r.minVramGb ? ` with ≥ ${r.minVramGb} GB VRAM` : "";
    parts.push(`${shortfall.gpus} have fewer than ${r.gpus} GPU(s)${which}${vram}`);
  }
  if (shortfall.cpus > 0) parts.push(`${shortfall.cpus} have fewer than ${r.cpus} CPUs`);
  if (shortfall.memory > 0) parts.push(`${shortfall.memory} have less than ${r.memoryGb} GB memory`);
  if (shortfall.price > 0) parts.push(`${shortfall.price} cost more than maxPricePerGpuHour`);
  if (shortfall.runtime > 0) parts.push(`${shortfall.runtime} have no container runtime`);
  if (shortfall.excluded > 0) parts.push(`${shortfall.excluded} already lost an attempt of this job`);
  return `no node in ${region} can run this job (${shortfall.nodes} node(s): ${parts.join("; ")})`;
}
