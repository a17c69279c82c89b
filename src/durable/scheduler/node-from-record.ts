import { CPU_PRICES } from "../../shared/cpu-pricing.js";
import { gpuModelById } from "../../shared/gpu-catalog.js";
import type { NodeRecord } from "../region-records.js";
import type { SchedulerNode } from "./scheduler-node.js";

/** Live facts the Region object measures or derives about a node, beyond its registration. */
export interface NodeFacts {
  schedulable: boolean;
  reputation?: number | undefined;
  verifiedTflops?: number | undefined;
  /** Every GPU attested in its last challenge (verification-desk.ts). */
  attested?: boolean | undefined;
  /** The part each GPU measured as (by uuid), which it is listed and matched as instead of its claim. */
  listedModels?: ReadonlyMap<string, string> | undefined;
  rttMs?: number | undefined;
  bandwidthGbps?: number | undefined;
  lat?: number | undefined;
  lon?: number | undefined;
  country?: string | undefined;
}

/**
 * The scheduler's view of a registered node. The site and country come from the facts when the
 * agent reported them, else from the node's `site` and `country` labels, so providers can set them
 * by hand.
 */
export function nodeFromRecord(record: NodeRecord, facts: NodeFacts): SchedulerNode {
  const gpus = record.hardware.gpus;
  return {
    id: record.id,
    region: record.region,
    gpus: gpus.map((gpu) => {
      const listed = facts.listedModels?.get(gpu.uuid);
      return {
        uuid: gpu.uuid,
        model: listed ?? gpu.model,
        vramMib: listedVramMib(gpu.vramMib, gpu.model, listed),
        computeCapability: gpu.computeCapability,
      };
    }),
    cpuMilli: record.hardware.cpus * 1000,
    memoryMib: record.hardware.memoryMib,
    driverVersion: gpus[0]?.driverVersion,
    cudaVersion: gpus[0]?.cudaVersion,
    pricePerGpuHourMicros: record.pricePerGpuHourMicros,
    pricePerVcpuHourMicros: record.pricePerVcpuHourMicros ?? CPU_PRICES.vcpuHourMicros,
    labels: record.labels,
    site: record.labels.site,
    country: facts.country ?? record.labels.country,
    lat: facts.lat,
    lon: facts.lon,
    rttMs: facts.rttMs,
    bandwidthGbps: facts.bandwidthGbps,
    reputation: facts.reputation,
    verifiedTflops: facts.verifiedTflops,
    attested: facts.attested,
    stakeTier: record.stakeTier,
    // Containers, or (trusted-host mode) plain host processes; "none" takes no work.
    schedulable: facts.schedulable && (record.runtime === "docker" || record.runtime === "host"),
  };
}

/**
 * A GPU listed as a part other than its claim offers no more VRAM than that part has: an H200
 * claim whose walk proved an H100-SXM (only 80 GB shown to be there) is not matched to a job
 * asking for 100 GB.
 */
export function listedVramMib(
  claimedMib: number,
  claimed: string | undefined,
  listed: string | undefined,
): number {
  if (listed === undefined || listed === claimed) return claimedMib;
  const part = gpuModelById(listed);
  return part ? Math.min(claimedMib, Math.floor(part.vramGb * 1024)) : claimedMib;
}
