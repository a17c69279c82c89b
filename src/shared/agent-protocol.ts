import { z } from "zod";
import { VcpuHourPrice } from "./cpu-pricing.js";
import { ReplicaService } from "./endpoints/replica-service.js";
import { HardwareReport } from "./hardware.js";
import { AttemptId, NodeId } from "./id-schemas.js";
import { UsdAmount } from "./money.js";
import { BandwidthGbps, NodeLocation } from "./node-location.js";
import { SignedUsage } from "./receipts/usage-statement.js";
import { RegionId } from "./regions.js";
import { RunnerMode, VerificationChallenge } from "./verification/messages.js";

/**
 * Messages between a host agent and the control plane. Every one of them travels as a signed
 * request (see agent-signature.ts); the routes live under /v1/agent.
 */

export { AttemptId, NodeId } from "./id-schemas.js";
export const Fencing = z.number().int().min(1);

const Label = z.string().regex(/^[a-z0-9]([a-z0-9._/-]{0,62}[a-z0-9])?$/);

/**
 * A random id each agent process picks when it starts, sent with its register, reclaim and polls
 * (and on its presence socket): one node identity, one live agent. While one session is live the
 * region refuses another (`second_poller`), so two hosts sharing a key cannot take turns on it.
 */
export const AgentSession = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,64}$/, "16–64 characters of A–Z, a–z, 0–9, _ or -");
export type AgentSession = z.infer<typeof AgentSession>;

/** POST /v1/agent/register */
export const RegisterRequest = z
  .object({
    region: RegionId.optional(),
    hardware: HardwareReport,
    pricePerGpuHour: UsdAmount,
    /** Asking price per vCPU-hour of CPU-only work; absent: the CPU table's rate (cpu-pricing.ts). */
    pricePerVcpuHour: VcpuHourPrice.optional(),
    labels: z.record(Label, z.string().max(128)).default({}),
    agentVersion: z.string().max(32),
    /**
     * How the node runs jobs: "docker" containers; "host" processes on the host itself (trusted-host
     * mode, no isolation: the provider opted into it); "none" takes no work.
     */
    runtime: z.enum(["docker", "host", "none"]),
    /** How this host can run the proof-of-GPU benchmark (and the image it uses in a container). */
    benchmark: z
      .object({ mode: RunnerMode, image: z.string().max(255).optional() })
      .strict()
      .optional(),
    /** Where the node is (config `location`); absent: the control plane's view of the connection. */
    location: NodeLocation.optional(),
    /** Bandwidth to the control plane the agent measured at start (GET /v1/agent/bandwidth-probe). */
    bandwidthGbps: BandwidthGbps.optional(),
    /** Where the provider's earnings are paid: a Solana address (base58 ed25519 public key). */
    payoutWallet: z
      .string()
      .regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, "a Solana address")
      .optional(),
    session: AgentSession.optional(),
  })
  .strict();
export type RegisterRequest = z.infer<typeof RegisterRequest>;

export const RegisterResponse = z.object({
  nodeId: NodeId,
  region: RegionId,
  /** How long the control plane holds a poll open, in milliseconds. */
  pollWaitMs: z.number().int(),
  /** How long an assignment lives without a renewing poll. */
  leaseTtlMs: z.number().int(),
});
export type RegisterResponse = z.infer<typeof RegisterResponse>;

/** An attempt the agent is running (or still stopping); listing it renews its lease. */
export const RunningAttempt = z.object({ attemptId: AttemptId, fencing: Fencing }).strict();

/**
 * One GPU's state as the agent last sampled it. What the part or driver does not report
 * (nvidia-smi's "[N/A]") is left out rather than sent as 0.
 */
export const GpuSample = z
  .object({
    index: z.number().int().min(0).max(63),
    utilizationPct: z.number().min(0).max(100).optional(),
    memoryUsedMib: z.number().int().min(0),
    temperatureC: z.number().min(-50).max(200).optional(),
    powerW: z.number().min(0).max(5000).optional(),
    smClockMhz: z.number().int().min(0).max(10_000).optional(),
    /** Uncorrected ECC errors since the driver loaded; absent where not reported. */
    eccUncorrected: z.number().int().min(0).optional(),
    /** XID error events seen since the agent started. */
    xidErrors: z.number().int().min(0).optional(),
    /** The driver's slowdown temperature: running at or above it is "hot". */
    slowdownTempC: z.number().min(0).max(200).optional(),
    /** The hardware is slowing the clocks (over temperature, power brake): counts as hot. */
    hwSlowdown: z.boolean().optional(),
  })
  .strict();
export type GpuSample = z.infer<typeof GpuSample>;

/**
 * A summary of the node's state. The agent sends it with a poll only when it changed materially
 * since the last one it sent (so a quiet node's heartbeat stays small and writes nothing).
 */
export const NodeMetrics = z
  .object({
    at: z.number().int(),
    gpus: z.array(GpuSample).max(64),
    host: z
      .object({
        cpuPct: z.number().min(0).max(100),
        memoryUsedMib: z.number().int().min(0),
        diskFreeMib: z.number().int().min(0),
      })
      .strict(),
  })
  .strict();
export type NodeMetrics = z.infer<typeof NodeMetrics>;

/** POST /v1/agent/poll: the heartbeat and the request for work, in one long-poll. */
export const PollRequest = z
  .object({
    running: z.array(RunningAttempt).max(256).default([]),
    /** False while the agent drains (shutting down): it renews leases but takes no new work. */
    acceptingWork: z.boolean().default(true),
    /** How long the server may hold the poll when there is nothing to hand out (≤ pollWaitMs). */
    waitMs: z.number().int().min(0).max(20_000).optional(),
    /** Sent only when it changed materially since the last poll that carried it. */
    metrics: NodeMetrics.optional(),
    /** The agent's measured round-trip time to the control plane (a moving median), in ms. */
    rttMs: z.number().min(0).max(60_000).optional(),
    session: AgentSession.optional(),
  })
  .strict();
export type PollRequest = z.infer<typeof PollRequest>;

export const Assignment = z.object({
  jobId: z.string(),
  attemptId: AttemptId,
  fencing: Fencing,
  leaseExpiresAt: z.number().int(),
  image: z.string(),
  command: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  /** GPU uuids assigned to this attempt; the container sees exactly these. */
  gpuUuids: z.array(z.string()),
  cpus: z.number(),
  memoryMib: z.number().int(),
  timeoutSeconds: z.number().int(),
  /** The attempt's price, fixed when it was placed: what the agent's usage statement prices at. */
  pricePerGpuHourMicros: z.number().int().min(0).optional(),
  /** A CPU-only attempt's hourly price on this node for what it reserves (its node's vCPU price). */
  cpuHourMicros: z.number().int().min(0).optional(),
  /**
   * True when the job has secrets, inputs, outputs or a checkpoint: the agent asks for the
   * attempt's storage grant (POST …/storage/grant) before its container starts.
   */
  storage: z.boolean().optional(),
  /**
   * Present when the attempt is an inference endpoint's replica: the container keeps running and
   * serves HTTP through the tunnel (src/shared/endpoints/tunnel-protocol.ts) once its probe passes.
   */
  service: ReplicaService.optional(),
});
export type Assignment = z.infer<typeof Assignment>;

export const StopOrder = z.object({
  attemptId: AttemptId,
  /** `paused`: stop like a cancel (SIGTERM, grace, last checkpoint sync), the job resumes later. */
  reason: z.enum(["cancelled", "paused", "superseded", "lease_expired", "unknown_attempt"]),
});
export type StopOrder = z.infer<typeof StopOrder>;

export const PollResponse = z.object({
  assignments: z.array(Assignment),
  stop: z.array(StopOrder),
  /**
   * Proof-of-GPU challenges to run now (see src/shared/verification): run the benchmark, then
   * POST /v1/agent/challenges/:id/commit and, with the spot checks it answers, .../answer.
   */
  challenges: z.array(VerificationChallenge).default([]),
  /** Wait this long before the next poll (0: poll again at once). */
  nextPollDelayMs: z.number().int().min(0),
});
export type PollResponse = z.infer<typeof PollResponse>;

export const MAX_LOG_BATCH_BYTES = 256 * 1024;

const LogChunk = z
  .object({
    stream: z.enum(["stdout", "stderr"]),
    data: z.string().max(MAX_LOG_BATCH_BYTES),
    at: z.number().int(),
  })
  .strict();
export type LogChunk = z.infer<typeof LogChunk>;

/** POST /v1/agent/attempts/:attemptId/report */
export const AttemptReport = z.discriminatedUnion("type", [
  z
    .object({
      type: z.literal("started"),
      fencing: Fencing,
      at: z.number().int(),
      containerId: z.string().max(128),
      /**
       * The content digest of the image the container runs (the engine's image id), recorded with
       * the attempt so a charge can be traced to what ran. Optional for agents older than it.
       */
      imageDigest: z
        .string()
        .regex(/^sha256:[0-9a-f]{64}$/, "an image digest is sha256: and 64 lower-case hex digits")
        .optional(),
    })
    .strict(),
  z
    .object({ type: z.literal("logs"), fencing: Fencing, chunks: z.array(LogChunk).min(1).max(1024) })
    .strict(),
  z
    .object({
      type: z.literal("exited"),
      fencing: Fencing,
      at: z.number().int(),
      /** Null when no container exit status exists (the image could not be pulled, say). */
      exitCode: z.number().int().nullable(),
      reason: z.enum(["completed", "timeout", "cancelled", "error"]),
      message: z.string().max(4096).optional(),
      /**
       * With reason "error": whose the error is. `image_pull`: the image could not be pulled (the
       * user's image); `host_policy`: the node refuses this job for good, handed back unstarted —
       * its host policy refuses the image, or it cannot serve replicas — and the job goes elsewhere,
       * never back to it, with no retry spent; `unavailable`: the node could not take the attempt
       * just now, handed back unstarted — its container engine did not answer when the assignment
       * arrived (src/agent/node-attempts.ts pings it first), or its operating window had closed — and
       * the job goes elsewhere while another node can take it, else back to this one once it takes
       * work again, with no retry spent (src/durable/handback.ts);
       * `runtime`: the node could not run the container (the node's fault); `input`: the job's
       * inputs could not be fetched or failed their hash (the user's data: the job fails); `spec`:
       * the engine refused the job's own image reference, command or config at start (the user's:
       * the job fails, no free retry);
       * `node_shutdown`: the agent stopped it because it is shutting down (the job is placed again
       * at once).
       */
      errorKind: z
        .enum(["image_pull", "host_policy", "unavailable", "runtime", "input", "spec", "node_shutdown"])
        .optional(),
      /** The agent's signed statement of what the attempt used (src/shared/receipts/usage-statement.ts). */
      usage: SignedUsage.optional(),
    })
    .strict(),
]);
export type AttemptReport = z.infer<typeof AttemptReport>;

export const ReportResponse = z.object({
  accepted: z.literal(true),
  /** True when the attempt should stop (it was cancelled meanwhile). */
  stop: z.boolean(),
});
export type ReportResponse = z.infer<typeof ReportResponse>;

/** Bytes of each stream of an attempt's output the control plane has stored. */
export const LogOffsets = z
  .object({ stdout: z.number().int().min(0), stderr: z.number().int().min(0) })
  .strict();
export type LogOffsets = z.infer<typeof LogOffsets>;

/**
 * POST /v1/agent/reclaim: a restarted agent lists the attempt containers of its node it found (by
 * their labels) and asks which are still its own, before its first poll.
 */
export const ReclaimRequest = z
  .object({
    attempts: z
      .array(z.object({ attemptId: AttemptId, running: z.boolean() }).strict())
      .max(256)
      .refine((list) => new Set(list.map((a) => a.attemptId)).size === list.length, "attempt ids repeat"),
    session: AgentSession.optional(),
  })
  .strict();
export type ReclaimRequest = z.infer<typeof ReclaimRequest>;

export const ReclaimResponse = z.object({
  /**
   * Still this node's: the lease is renewed, and the agent takes the container up again. The
   * assignment carries the current fencing number and, in `timeoutSeconds`, the run time left;
   * `logOffsets` say where the stored output ends, so it is resumed with nothing twice or missing.
   */
  keep: z.array(z.object({ assignment: Assignment, started: z.boolean(), logOffsets: LogOffsets })),
  /** No longer this node's (placed elsewhere, or ended and forgotten): the agent removes the container. */
  drop: z.array(z.object({ attemptId: AttemptId, reason: z.enum(["superseded", "unknown_attempt"]) })),
});
export type ReclaimResponse = z.infer<typeof ReclaimResponse>;
