import { z } from "zod";

/** One GPU as the host agent detected it. */
export const GpuInfo = z
  .object({
    index: z.number().int().min(0).max(63),
    uuid: z.string().min(1).max(128),
    /** The product name the driver reports, e.g. "NVIDIA H100 80GB HBM3". */
    name: z.string().min(1).max(128),
    /** Catalogue model id when the part is known, e.g. "H100-SXM". */
    model: z.string().max(32).optional(),
    vramMib: z
      .number()
      .int()
      .min(0)
      .max(4 * 1024 * 1024),
    computeCapability: z.string().max(8).optional(),
    driverVersion: z.string().max(32).optional(),
    cudaVersion: z.string().max(16).optional(),
  })
  .strict();
export type GpuInfo = z.infer<typeof GpuInfo>;

export const HardwareReport = z
  .object({
    gpus: z.array(GpuInfo).max(64),
    cpus: z.number().int().min(1).max(4096),
    memoryMib: z
      .number()
      .int()
      .min(64)
      .max(64 * 1024 * 1024),
    diskFreeMib: z.number().int().min(0),
    os: z.string().max(128),
    arch: z.string().max(32),
  })
  .strict();
export type HardwareReport = z.infer<typeof HardwareReport>;
