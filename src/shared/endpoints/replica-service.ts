import { z } from "zod";

/**
 * What turns an assignment into an endpoint replica (see tunnel-protocol.ts): a long-running
 * container serving HTTP on `port`, reached only through the agent's tunnel on the attempt's
 * private bridge network, and given traffic only after `readiness` passes.
 */

/** An HTTP readiness probe against the container, as Kubernetes and RunPod users know it. */
export const ReadinessProbe = z
  .object({
    /** A path on the container, e.g. "/health" (query allowed). */
    path: z
      .string()
      .max(1024)
      .regex(/^\/[\x21-\x7e]*$/, "a path starting with / and no spaces"),
    /** Wait this long after the container starts before the first probe. */
    initialDelaySeconds: z.number().int().min(0).max(3600).default(0),
    /** Probe this often. */
    periodSeconds: z.number().int().min(1).max(300).default(2),
    /** A probe that takes longer than this fails. */
    timeoutSeconds: z.number().int().min(1).max(60).default(2),
    /** Consecutive failures before a ready replica is marked unready. */
    failureThreshold: z.number().int().min(1).max(100).default(3),
  })
  .strict();
export type ReadinessProbe = z.infer<typeof ReadinessProbe>;

export const ReplicaService = z
  .object({
    endpointId: z.string().max(64),
    /** The container's port (1–65535) the tunnel forwards to. */
    port: z.number().int().min(1).max(65535),
    readiness: ReadinessProbe,
  })
  .strict();
export type ReplicaService = z.infer<typeof ReplicaService>;
