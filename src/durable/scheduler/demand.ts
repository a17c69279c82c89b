import { DEFAULT_PRIORITY, type JobSpec, type SchedulingStrategy } from "../../shared/job-spec.js";
import { CONSTRAINT_REGISTRY, type Constraints } from "./constraints/index.js";

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

export type { Constraints };

/** The demand of a validated job spec; `excludeNodes` are the nodes that already lost it. */
export function demandFromSpec(spec: JobSpec, excludeNodes: readonly string[] = []): Demand {
  const { resources } = spec;
  const constraints: Constraints = {};
  // Each constraint record reads its own spec fields.
  for (const record of CONSTRAINT_REGISTRY)
    if (record.fromSpec) Object.assign(constraints, record.fromSpec(spec));
  constraints.excludeNodes = excludeNodes.length > 0 ? new Set(excludeNodes) : undefined;
  return {
    gpus: resources.gpus,
    gpuMilli: WHOLE_GPU_MILLI,
    cpuMilli: Math.ceil(resources.cpus * 1000),
    memoryMib: Math.ceil(resources.memoryGb * 1024),
    nodes: spec.nodes ?? 1,
    strategy: spec.strategy ?? "balanced",
    constraints,
  };
}

/** The spec's priority, 0..9, with the default applied. */
export const specPriority = (spec: JobSpec): number => spec.priority ?? DEFAULT_PRIORITY;
