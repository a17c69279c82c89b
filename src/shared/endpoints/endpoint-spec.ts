import { z } from "zod";
import { JobResources, JobSpec, SchedulingStrategy } from "../job-spec.js";
import { UsdAmount } from "../money.js";
import { RegionId } from "../regions.js";
import { ReadinessProbe } from "./replica-service.js";

/** The most replicas one endpoint may run at once. */
export const MAX_REPLICAS = 64;

/** How an endpoint follows its traffic (see durable/endpoints/autoscaler.ts). */
export const EndpointScaling = z
  .object({
    /** Concurrent requests one replica should serve; more for longer than the up window adds replicas. */
    targetConcurrency: z.number().int().min(1).max(1024).default(4),
    /** Load must last this long before replicas are added (a single blip never scales up). */
    scaleUpWindowSeconds: z.number().int().min(1).max(3600).default(10),
    /** Load must stay low this long before replicas are removed. */
    scaleDownWindowSeconds: z.number().int().min(1).max(86_400).default(300),
    /** With min 0: no requests for this long scales to zero. */
    idleSecondsToZero: z.number().int().min(1).max(86_400).default(600),
    /** How long a request may wait for a replica to be placed and become ready; then 503. */
    maxColdStartWaitSeconds: z.number().int().min(1).max(600).default(120),
    /** Requests waiting longer than this (queue delay) for a replica also add one (RunPod's default 4 s). */
    queueDelaySeconds: z.number().min(0.1).max(600).default(4),
  })
  .strict();
export type EndpointScaling = z.output<typeof EndpointScaling>;

export const EndpointReplicas = z
  .object({
    min: z.number().int().min(0).max(MAX_REPLICAS).default(0),
    max: z.number().int().min(1).max(MAX_REPLICAS).default(1),
  })
  .strict()
  .refine((r) => r.min <= r.max, { message: "replicas.min must not exceed replicas.max", path: ["min"] });

const EndpointName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,62}$/,
    "1-63 lower-case letters, digits, '.', '_' or '-' (the `model` callers name)",
  );

/** What a user creates: a container serving HTTP, its probe, its resources, and how it scales. */
export const EndpointSpec = z
  .object({
    name: EndpointName,
    image: JobSpec.shape.image,
    command: JobSpec.shape.command,
    env: z
      .record(z.string().regex(/^(?!MERIDIAN_)[A-Za-z_][A-Za-z0-9_]{0,127}$/), z.string().max(64 * 1024))
      .default({}),
    /** The container's port the tunnel forwards to. */
    port: z.number().int().min(1, "port must be 1-65535").max(65535, "port must be 1-65535"),
    readiness: ReadinessProbe.default({
      path: "/health",
      initialDelaySeconds: 0,
      periodSeconds: 2,
      timeoutSeconds: 2,
      failureThreshold: 3,
    }),
    resources: JobResources.default({ gpus: 0, cpus: 1, memoryGb: 1 }),
    /** Where replicas run: a list (spread over them), or "nearest" (the region nearest the first caller). */
    regions: z.union([z.literal("nearest"), z.array(RegionId).min(1).max(16)]).default("nearest"),
    replicas: EndpointReplicas.default({ min: 0, max: 1 }),
    scaling: EndpointScaling.default(EndpointScaling.parse({})),
    maxPricePerGpuHour: UsdAmount.optional(),
    strategy: SchedulingStrategy.optional(),
    /** `private`: only the owner's keys; `public`: every account's key may call it by id (billed to the owner). */
    visibility: z.enum(["private", "public"]).default("private"),
  })
  .strict();
export type EndpointSpec = z.output<typeof EndpointSpec>;

/** A change to an endpoint: some of its fields, never the name; the result must be a valid spec. */
export const EndpointPatch = z
  .object({
    image: EndpointSpec.shape.image.optional(),
    command: EndpointSpec.shape.command.optional(),
    env: EndpointSpec.shape.env.optional(),
    port: EndpointSpec.shape.port.optional(),
    readiness: ReadinessProbe.optional(),
    resources: JobResources.optional(),
    regions: EndpointSpec.shape.regions.optional(),
    replicas: EndpointReplicas.optional(),
    scaling: EndpointScaling.partial().optional(),
    maxPricePerGpuHour: UsdAmount.optional(),
    strategy: SchedulingStrategy.optional(),
    visibility: EndpointSpec.shape.visibility.optional(),
  })
  .strict();
export type EndpointPatch = z.infer<typeof EndpointPatch>;
