import { z } from "zod";

/** A replica's life as its endpoint sees it: placed and waiting for a node, then what its agent reports. */
export const ReplicaState = z.enum(["pending", "starting", "ready", "unready", "failed", "draining"]);
export type ReplicaState = z.infer<typeof ReplicaState>;

export const EndpointStatus = z.enum(["active", "suspended", "deleted"]);
export type EndpointStatus = z.infer<typeof EndpointStatus>;

export const ReplicaView = z.object({
  jobId: z.string(),
  attemptId: z.string().nullable(),
  region: z.string(),
  nodeId: z.string().nullable(),
  state: ReplicaState,
  detail: z.string(),
  since: z.string(),
  inFlight: z.number().int(),
});
export type ReplicaView = z.infer<typeof ReplicaView>;

export const EndpointView = z.object({
  id: z.string(),
  name: z.string(),
  status: EndpointStatus,
  /** Why it is suspended (a balance that could not fund its replicas), else null. */
  reason: z.string().nullable(),
  spec: z.record(z.string(), z.unknown()),
  desiredReplicas: z.number().int(),
  readyReplicas: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type EndpointView = z.infer<typeof EndpointView>;

export const EndpointEvent = z.object({
  at: z.string(),
  type: z.enum([
    "created",
    "updated",
    "scaled",
    "replica_started",
    "replica_ready",
    "replica_unhealthy",
    "replica_failed",
    "replica_replaced",
    "suspended",
    "deleted",
  ]),
  message: z.string(),
  region: z.string().nullable(),
  jobId: z.string().nullable(),
});
export type EndpointEvent = z.infer<typeof EndpointEvent>;

export const EndpointMetrics = z.object({
  requests: z.number().int(),
  errors: z.number().int(),
  inFlight: z.number().int(),
  latencyMs: z.object({ p50: z.number().nullable(), p99: z.number().nullable() }),
  timeToFirstByteMs: z.object({ p50: z.number().nullable(), p99: z.number().nullable() }),
  coldStarts: z.number().int(),
  replicaSeconds: z.number(),
  tokens: z.object({ prompt: z.number().int(), completion: z.number().int() }),
});
export type EndpointMetrics = z.infer<typeof EndpointMetrics>;
