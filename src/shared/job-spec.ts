import { z } from "zod";
import { Billing } from "./billing.js";
import { GPU_CATALOG, type GpuModel, gpuModelById } from "./gpu-catalog.js";
import { isValidImageRef } from "./image-ref.js";
import { UsdAmount } from "./money.js";
import { RegionId } from "./regions.js";
import { JobCheckpoint, JobInput, JobOutput, storageIssues } from "./storage/job-storage.js";
import { SecretRef } from "./storage/secrets-api.js";
import { ATTESTABLE_PART_IDS, attestedChipOf } from "./verification/attestation/attestable-parts.js";

/** Largest GPU count one node can offer a job; bigger asks belong to multi-node jobs. */
export const MAX_GPUS_PER_NODE = 16;
export const MAX_COMMAND_BYTES = 32 * 1024;
export const MAX_ENV_BYTES = 64 * 1024;
export const MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
/** Largest gang (multi-node job) one region is asked to place at once. */
export const MAX_NODES_PER_JOB = 64;
/** Priorities run 0 (lowest) to 9 (highest); a spec without one is scheduled at DEFAULT_PRIORITY. */
export const MAX_PRIORITY = 9;
export const DEFAULT_PRIORITY = 4;

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

/** How the scheduler weighs the nodes that pass every constraint; `balanced` when omitted. */
export const SchedulingStrategy = z.enum(["cheapest", "fastest", "reliable", "balanced"]);
export type SchedulingStrategy = z.infer<typeof SchedulingStrategy>;

export const GpuTierName = z.enum(["consumer", "professional", "datacenter"]);

const VersionText = z
  .string()
  .regex(/^[0-9]{1,4}(\.[0-9]{1,4}){0,3}$/, 'a dotted version such as "8.0", "12.2" or "535.104.05"');

const LabelKey = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/, "a label key such as site or gpu.fabric");

/**
 * Where a job may run beyond its resources: node properties the scheduler filters on. Every field
 * is optional; a node that lacks a figure a minimum asks for (an unverified TFLOP/s, an unknown
 * bandwidth) does not satisfy it.
 */
export const JobPlacement = z
  .object({
    regions: z.array(RegionId).min(1).max(32).optional(),
    countries: z
      .array(z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166-1 alpha-2 country code such as "DE"'))
      .min(1)
      .max(64)
      .optional(),
    near: z
      .object({
        lat: z.number().min(-90).max(90),
        lon: z.number().min(-180).max(180),
        radiusKm: z.number().positive().max(20_040),
      })
      .strict()
      .optional(),
    minComputeCapability: VersionText.optional(),
    minCudaVersion: VersionText.optional(),
    minDriverVersion: VersionText.optional(),
    /** Verified dense TFLOP/s per GPU, as measured by the verification run. */
    minTflops: z.number().positive().max(100_000).optional(),
    /**
     * Only GPUs whose device attestation held in their last challenge (today: H100 and H200 in
     * confidential-computing mode), not timing-verified ones (docs/VERIFICATION.md).
     */
    requireAttested: z.boolean().optional(),
    /** Node reputation, 0 (worst) to 1 (best). */
    minReputation: z.number().min(0).max(1).optional(),
    minBandwidthGbps: z.number().positive().max(10_000).optional(),
    requiredLabels: z.record(LabelKey, z.string().max(128)).optional(),
    /** Labels a node must not carry: "key" refuses any value, "key=value" refuses that value. */
    forbiddenLabels: z.array(z.string().min(1).max(192)).max(64).optional(),
    tiers: z.array(GpuTierName).min(1).max(3).optional(),
  })
  .strict();
export type JobPlacement = z.infer<typeof JobPlacement>;

/** Longest budget in hours: a year, far beyond any timeout, so only a typo is refused. */
export const MAX_BUDGET_HOURS = 8784;

/**
 * A job's spending caps: at most `maxTotalUsd` (integer µUSD once parsed) and at most `maxHours` of
 * billed run time. At least one; whether a cap buys one billable unit is checked at submit, where
 * the price is known (400 `budget_below_minimum`).
 */
export const JobBudget = z
  .object({
    maxTotalUsd: UsdAmount.optional(),
    maxHours: z.number().positive().max(MAX_BUDGET_HOURS).optional(),
  })
  .strict()
  .refine((budget) => budget.maxTotalUsd !== undefined || budget.maxHours !== undefined, {
    message: "a budget needs maxTotalUsd, maxHours or both",
  });
export type JobBudget = z.output<typeof JobBudget>;

const largestVram = (models: readonly GpuModel[]): GpuModel | undefined =>
  models.reduce<GpuModel | undefined>(
    (best, model) => (best && best.vramGb >= model.vramGb ? best : model),
    undefined,
  );

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
    /** Values in clear, or `{secret: name}`: delivered only to the agent of the attempt that runs. */
    env: z
      .record(EnvName, z.union([z.string().max(MAX_ENV_BYTES), SecretRef]))
      .default({})
      .refine((env) => Object.keys(env).length <= 256, "at most 256 environment variables")
      .refine(
        (env) =>
          Object.entries(env).reduce(
            (sum, [k, v]) => sum + byteLength(k) + (typeof v === "string" ? byteLength(v) : 0),
            0,
          ) <= MAX_ENV_BYTES,
        `env is larger than ${MAX_ENV_BYTES} bytes`,
      ),
    resources: JobResources.default({ gpus: 0, cpus: 1, memoryGb: 1 }),
    region: RegionId.optional(),
    maxPricePerGpuHour: UsdAmount.optional(),
    /** CPU-only work: the most a vCPU-hour may cost (the node's own price); binds GPU jobs not at all. */
    maxPricePerVcpuHour: UsdAmount.optional(),
    timeoutSeconds: z.number().int().min(1).max(MAX_TIMEOUT_SECONDS).default(3600),
    maxRetries: z.number().int().min(0).max(10).default(2),
    strategy: SchedulingStrategy.optional(),
    priority: z
      .number()
      .int("priority must be a whole number")
      .min(0, `priority must be 0..${MAX_PRIORITY}`)
      .max(MAX_PRIORITY, `priority must be 0..${MAX_PRIORITY}`)
      .optional(),
    /** Nodes of a gang (multi-node) job, each with `resources`; all are placed at once or none. */
    nodes: z
      .number()
      .int("nodes must be a whole number")
      .min(1)
      .max(MAX_NODES_PER_JOB, `nodes is at most ${MAX_NODES_PER_JOB} per job`)
      .optional(),
    placement: JobPlacement.optional(),
    /** How attempts are billed; absent means `per_second`. */
    billing: Billing.optional(),
    /** Caps on what the job may spend; it is stopped (`budget_exhausted`) when one is reached. */
    budget: JobBudget.optional(),
    /** Fetched, verified and mounted read-only before the container starts. */
    inputs: z.array(JobInput).max(64).optional(),
    /** Folders uploaded after the container exits; listed by GET /v1/jobs/:id/outputs. */
    outputs: z.array(JobOutput).max(16).optional(),
    /** Synced every interval and at exit; a job placed again resumes from it. */
    checkpoint: JobCheckpoint.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    for (const issue of storageIssues(spec)) ctx.addIssue({ code: "custom", ...issue });
    // Contradictions are refused at submit: such a job would otherwise wait in the queue forever.
    const { resources, placement } = spec;
    const allowed = resources.gpuModels
      ? GPU_CATALOG.filter((model) => resources.gpuModels?.includes(model.id))
      : GPU_CATALOG;
    const biggest = largestVram(allowed);
    if (resources.minVramGb !== undefined && biggest && resources.minVramGb > biggest.vramGb) {
      ctx.addIssue({
        code: "custom",
        path: ["resources", "minVramGb"],
        message: `minVramGb ${resources.minVramGb} is above every ${resources.gpuModels ? "allowed" : "catalogued"} GPU (largest: ${biggest.id} with ${biggest.vramGb} GB)`,
      });
    }
    // Only GH100 parts attest: a job that needs identity proven on any other part can never place.
    const minVram = resources.minVramGb ?? 0;
    if (
      placement?.requireAttested === true &&
      resources.gpus > 0 &&
      !allowed.some((model) => attestedChipOf(model.id) !== undefined && model.vramGb >= minVram)
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["placement", "requireAttested"],
        message: `no GPU this job allows can attest: only ${ATTESTABLE_PART_IDS.join(", ")} do (in confidential-computing mode); other parts are timing-verified only (docs/VERIFICATION.md)`,
      });
    }
    const tiers = placement?.tiers;
    if (tiers && resources.gpuModels && !allowed.some((model) => tiers.includes(model.tier))) {
      ctx.addIssue({
        code: "custom",
        path: ["placement", "tiers"],
        message: `none of gpuModels (${resources.gpuModels.join(", ")}) is of tier ${tiers.join(" or ")}`,
      });
    }
    if (spec.region !== undefined && placement?.regions && !placement.regions.includes(spec.region)) {
      ctx.addIssue({
        code: "custom",
        path: ["placement", "regions"],
        message: `region "${spec.region}" is not among placement.regions (${placement.regions.join(", ")})`,
      });
    }
    if (resources.gpus === 0) {
      for (const key of [
        "minComputeCapability",
        "minCudaVersion",
        "minDriverVersion",
        "minTflops",
        "requireAttested",
        "tiers",
      ] as const) {
        if (placement?.[key] !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["placement", key],
            message: `placement.${key} needs at least one GPU (resources.gpus ≥ 1)`,
          });
        }
      }
    }
    for (const [index, entry] of (placement?.forbiddenLabels ?? []).entries()) {
      const [key = "", value] = entry.split("=", 2);
      if (!LabelKey.safeParse(key).success) {
        ctx.addIssue({
          code: "custom",
          path: ["placement", "forbiddenLabels", index],
          message: "a label key or key=value",
        });
      } else if (value !== undefined && placement?.requiredLabels?.[key] === value) {
        ctx.addIssue({
          code: "custom",
          path: ["placement", "forbiddenLabels", index],
          message: `label ${key}=${value} is both required and forbidden`,
        });
      } else if (value === undefined && placement?.requiredLabels?.[key] !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["placement", "forbiddenLabels", index],
          message: `label ${key} is both required and forbidden`,
        });
      }
    }
  });

/** A parsed job spec: defaults filled, money in integer µUSD (`maxPricePerGpuHour`, `maxPricePerVcpuHour`). */
export type JobSpec = z.output<typeof JobSpec>;
export type JobSpecInput = z.input<typeof JobSpec>;
