import type { GpuTier } from "../../shared/gpu-catalog.js";
import { DEFAULT_PRIORITY, type JobSpec, type SchedulingStrategy } from "../../shared/job-spec.js";
import { versionKey } from "./version.js";

/** A whole GPU, in the thousandths the inventory counts GPU shares in. */
export const WHOLE_GPU_MILLI = 1000;

/**
 * What one job asks of each of its nodes, in the inventory's units, with its hard constraints.
 * Built once per job (from a spec with `demandFromSpec`, or directly by a trace replay).
 */
export interface Demand {
  /** GPUs per node, 0..16. */
  gpus: number;
  /** Share of each GPU in thousandths: 1000 for whole GPUs; below that only with `gpus: 1`. */
  gpuMilli: number;
  cpuMilli: number;
  memoryMib: number;
  /** Gang size: nodes placed all at once or none. */
  nodes: number;
  strategy: SchedulingStrategy;
  constraints: Constraints;
}

export interface GeoCircle {
  lat: number;
  lon: number;
  radiusKm: number;
}

/** Hard constraints; an absent field does not constrain. Versions are `versionKey` numbers. */
export interface Constraints {
  gpuModels?: readonly string[] | undefined;
  minVramMib?: number | undefined;
  minComputeCapability?: number | undefined;
  minCudaVersion?: number | undefined;
  minDriverVersion?: number | undefined;
  minTflops?: number | undefined;
  maxPricePerGpuHourMicros?: number | undefined;
  regions?: readonly string[] | undefined;
  countries?: readonly string[] | undefined;
  near?: GeoCircle | undefined;
  minReputation?: number | undefined;
  minBandwidthGbps?: number | undefined;
  requiredLabels?: Readonly<Record<string, string>> | undefined;
  /** "key" refuses any value of the label, "key=value" that value only. */
  forbiddenLabels?: readonly string[] | undefined;
  tiers?: readonly GpuTier[] | undefined;
  /** Nodes this job must avoid (they lost an attempt of it, or are held for another job). */
  excludeNodes?: ReadonlySet<string> | undefined;
}

/** The demand of a validated job spec; `excludeNodes` are the nodes that already lost it. */
export function demandFromSpec(spec: JobSpec, excludeNodes: readonly string[] = []): Demand {
  const { resources, placement } = spec;
  const regions = placement?.regions ?? (spec.region === undefined ? undefined : [spec.region]);
  return {
    gpus: resources.gpus,
    gpuMilli: WHOLE_GPU_MILLI,
    cpuMilli: Math.ceil(resources.cpus * 1000),
    memoryMib: Math.ceil(resources.memoryGb * 1024),
    nodes: spec.nodes ?? 1,
    strategy: spec.strategy ?? "balanced",
    constraints: {
      gpuModels: resources.gpuModels,
      minVramMib: resources.minVramGb === undefined ? undefined : resources.minVramGb * 1024,
      minComputeCapability: versionKey(placement?.minComputeCapability),
      minCudaVersion: versionKey(placement?.minCudaVersion),
      minDriverVersion: versionKey(placement?.minDriverVersion),
      minTflops: placement?.minTflops,
      maxPricePerGpuHourMicros: spec.maxPricePerGpuHour,
      regions,
      countries: placement?.countries,
      near: placement?.near,
      minReputation: placement?.minReputation,
      minBandwidthGbps: placement?.minBandwidthGbps,
      requiredLabels: placement?.requiredLabels,
      forbiddenLabels: placement?.forbiddenLabels,
      tiers: placement?.tiers,
      excludeNodes: excludeNodes.length > 0 ? new Set(excludeNodes) : undefined,
    },
  };
}

/** The spec's priority, 0..9, with the default applied. */
export const specPriority = (spec: JobSpec): number => spec.priority ?? DEFAULT_PRIORITY;
