import { z } from "zod";
import { gpuModelById } from "./gpu-catalog.js";
import { isValidImageRef } from "./image-ref.js";
import { UsdAmount } from "./money.js";
import { RegionId } from "./regions.js";

/** Largest GPU count one node can offer a job; bigger asks belong to multi-node jobs. */
export const MAX_GPUS_PER_NODE = 16;
export const MAX_COMMAND_BYTES = 32 * 1024;
export const MAX_ENV_BYTES = 64 * 1024;
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;

const byteLength = (text: string): number => new TextEncoder().encode(text).length;

export const JobResources = z
  .object({
    gpus: z.number().int().min(0).max(MAX_GPUS_PER_NODE).default(0),
    gpuModels: z.array(z.string().min(1).max(32)).min(1).max(32).optional(),
    minVramGb: z.number().int().min(1).max(1024).optional(),
    cpus: z.number().min(0.1).max(256).default(1),
    memoryGb: z.number().min(0.0625).max(4096).default(1),
  })
  .strict()
  .superRefine((resources, ctx) => {
    if (resources.gpus === 0 && (resources.gpuModels !== undefined || resources.minVramGb !== undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["gpus"],
        message: "gpuModels and minVramGb need at least one GPU (resources.gpus ≥ 1)",
      });
    }
    for (const [index, model] of (resources.gpuModels ?? []).entries()) {
      if (!gpuModelById(model)) {
        ctx.addIssue({
          code: "custom",
          path: ["gpuModels", index],
          message: `unknown GPU model "${model}"; see GET /v1/gpu-models`,
        });
      }
    }
  });
export type JobResources = z.infer<typeof JobResources>;

const EnvName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "an environment variable name")
  .refine((name) => !name.startsWith("MERIDIAN_"), "names starting MERIDIAN_ are set by Meridian");

/** What a user submits. Unknown fields are refused so a typo never silently does nothing. */
export const JobSpec = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._ -]{0,127}$/, "1-128 letters, digits, '.', '_', '-' or spaces"),
    image: z
      .string()
      .refine(isValidImageRef, 'a container image reference such as "ghcr.io/org/trainer:1.2"'),
    command: z
      .array(z.string().max(MAX_COMMAND_BYTES))
      .max(1024)
      .default([])
      .refine(
        (args) => args.reduce((sum, arg) => sum + byteLength(arg), 0) <= MAX_COMMAND_BYTES,
        `command is larger than ${MAX_COMMAND_BYTES} bytes`,
      ),
    env: z
      .record(EnvName, z.string().max(MAX_ENV_BYTES))
      .default({})
      .refine((env) => Object.keys(env).length <= 256, "at most 256 environment variables")
      .refine(
        (env) =>
          Object.entries(env).reduce((sum, [k, v]) => sum + byteLength(k) + byteLength(v), 0) <=
          MAX_ENV_BYTES,
        `env is larger than ${MAX_ENV_BYTES} bytes`,
      ),
    resources: JobResources.default({ gpus: 0, cpus: 1, memoryGb: 1 }),
    region: RegionId.optional(),
    maxPricePerGpuHour: UsdAmount.optional(),
    timeoutSeconds: z.number().int().min(1).max(MAX_TIMEOUT_SECONDS).default(3600),
    maxRetries: z.number().int().min(0).max(10).default(2),
  })
  .strict();

/** A parsed job spec: defaults filled, money in integer µUSD (`maxPricePerGpuHour`). */
export type JobSpec = z.output<typeof JobSpec>;
export type JobSpecInput = z.input<typeof JobSpec>;
