import { z } from "zod";
import type { GpuInfo, HardwareReport } from "../../shared/hardware.js";

/** Which GPUs the host shares: "all", or a list of nvidia-smi indexes and/or GPU uuids. */
export const GpuShareConfig = z.union([
  z.literal("all"),
  z
    .array(
      z.union([z.number().int().min(0).max(63), z.string().regex(/^(GPU|MIG)-[0-9a-fA-F-]+$/, "a GPU uuid")]),
    )
    .min(1, 'list at least one GPU, or use "all"'),
]);
export type GpuShareConfig = z.infer<typeof GpuShareConfig>;

/** Upper bounds on what jobs get of the host; absent means all of it. */
export const ResourceLimitsConfig = z
  .object({
    cpus: z.number().int().min(1).optional(),
    memoryMib: z.number().int().min(64).optional(),
    diskMib: z.number().int().min(0).optional(),
  })
  .strict();
export type ResourceLimitsConfig = z.infer<typeof ResourceLimitsConfig>;

export class ShareError extends Error {
  readonly code = "config_invalid";
  constructor(message: string) {
    super(message);
    this.name = "ShareError";
  }
}

/** The GPUs named by the policy; throws for a name that matches no GPU of this host. */
export function sharedGpus(gpus: readonly GpuInfo[], share: GpuShareConfig): GpuInfo[] {
  if (share === "all") return [...gpus];
  for (const wanted of share) {
    const found = gpus.some((gpu) =>
      typeof wanted === "number" ? gpu.index === wanted : gpu.uuid === wanted,
    );
    if (!found) {
      const have = gpus.map((gpu) => `${gpu.index} (${gpu.uuid})`).join(", ") || "none";
      throw new ShareError(`gpus: this host has no GPU ${wanted}; it has: ${have}`);
    }
  }
  return gpus.filter((gpu) => share.some((wanted) => wanted === gpu.index || wanted === gpu.uuid));
}

/** The hardware report as the control plane should see it: only what the host shares. */
export function sharedHardware(
  host: HardwareReport,
  share: GpuShareConfig,
  limits: ResourceLimitsConfig = {},
): HardwareReport {
  return {
    ...host,
    gpus: sharedGpus(host.gpus, share),
    cpus: Math.min(host.cpus, limits.cpus ?? host.cpus),
    memoryMib: Math.min(host.memoryMib, limits.memoryMib ?? host.memoryMib),
    diskFreeMib: Math.min(host.diskFreeMib, limits.diskMib ?? host.diskFreeMib),
  };
}
