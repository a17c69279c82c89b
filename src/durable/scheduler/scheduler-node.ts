import type { GpuTier } from "../../shared/gpu-catalog.js";
import type { StakeTier } from "../../shared/staking-api.js";

/**
 * What the scheduler knows of one node: a plain value the Region object builds from its node
 * record and the live facts it measures (see `node-from-record.ts`). Figures that are not known
 * yet are undefined, and an undefined figure never satisfies a minimum a job asks for.
 */
export interface SchedulerNode {
  id: string;
  region: string;
  gpus: readonly SchedulerGpu[];
  /** Whole CPU capacity in thousandths of a core. */
  cpuMilli: number;
  memoryMib: number;
  driverVersion?: string | undefined;
  cudaVersion?: string | undefined;
  pricePerGpuHourMicros: number;
  /** The provider's price per vCPU-hour of CPU-only work; undefined: the CPU table's rate. */
  pricePerVcpuHourMicros?: number | undefined;
  labels: Readonly<Record<string, string>>;
  /** Site or datacenter the agent reports; nodes sharing one are a low-latency group for gangs. */
  site?: string | undefined;
  /** ISO 3166-1 alpha-2. */
  country?: string | undefined;
  lat?: number | undefined;
  lon?: number | undefined;
  /** Round-trip time from the node to its region, as the agent measures it. */
  rttMs?: number | undefined;
  bandwidthGbps?: number | undefined;
  /** 0 (worst) to 1 (best); undefined for a node without history. */
  reputation?: number | undefined;
  /** Verified dense TFLOP/s per GPU; undefined until the node passed a verification run. */
  verifiedTflops?: number | undefined;
  /** Every GPU attested in its last challenge, beyond timing (placement.requireAttested). */
  attested?: boolean | undefined;
  /** The listing tier its provider's MRD stake earns; undefined for none. */
  stakeTier?: StakeTier | undefined;
  /** Live and accepting work; a node that is not stays indexed for explanations only. */
  schedulable: boolean;
}

export interface SchedulerGpu {
  uuid: string;
  /** Catalogue model id (or a trace's model code); undefined for an unknown part. */
  model: string | undefined;
  vramMib: number;
  computeCapability?: string | undefined;
  /** Overrides the catalogue tier (for parts outside the catalogue). */
  tier?: GpuTier | undefined;
}

/** Reputation assumed for scoring a node without history: neither trusted nor distrusted. */
export const PRIOR_REPUTATION = 0.5;
