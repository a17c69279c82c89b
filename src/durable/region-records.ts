import type { PlacementExplanation } from "../shared/api.js";
import type { ReplicaService } from "../shared/endpoints/replica-service.js";
import type { HardwareReport } from "../shared/hardware.js";
import type { JobSpec } from "../shared/job-spec.js";
import type { JobStatus } from "../shared/job-status.js";
import type { LocationFact } from "../shared/node-location.js";
import type { StakeTier } from "../shared/staking-api.js";
import type { JobRowOf } from "./job-rows.js";

/** What the Region object keeps, in memory and in its storage, about nodes, jobs and attempts. */

export interface NodeRecord {
  id: string;
  publicKey: string;
  region: string;
  hardware: HardwareReport;
  pricePerGpuHourMicros: number;
  /** The provider's price per vCPU-hour of CPU-only work; undefined: the CPU table's rate. */
  pricePerVcpuHourMicros?: number | undefined;
  labels: Record<string, string>;
  agentVersion: string;
  runtime: "docker" | "host" | "none";
  registeredAt: number;
  /** Where the node's peers reach it (gang jobs' rendezvous); undefined when it did not say. */
  advertiseAddress?: string | undefined;
  /** The Solana address its earnings are paid to. */
  payoutWallet?: string | undefined;
  /** Where it is: reported by the agent, else the Worker's view of its connection. */
  location?: LocationFact | undefined;
  /** Bandwidth to the control plane, as the agent measured it at start. */
  bandwidthGbps?: number | undefined;
  /** How it runs the proof-of-GPU benchmark. */
  benchmark?: { mode: string; image?: string | undefined } | undefined;
  /** The listing tier its MRD stake earns, as the Worker last told it (undefined: none). */
  stakeTier?: StakeTier | undefined;
}

/** Why an attempt is being stopped while its reservation is still held. */
export type StopReason = "cancelled" | "gang_failed" | "paused";

/** One node's share of a job's placement: its own lease and fencing number. */
export interface AttemptRecord {
  id: string;
  nodeId: string;
  /** Its rank in a gang (0 for a single-node job). */
  rank: number;
  fencing: number;
  /** GPU uuids reserved for this attempt on its node. */
  gpuUuids: string[];
  cpus: number;
  memoryMib: number;
  pricePerGpuHourMicros: number;
  /** A CPU-only attempt's node price per vCPU-hour when it was placed (absent: the CPU table's). */
  pricePerVcpuHourMicros?: number;
  assignedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  exitCode: number | null;
  /** What the agent said it started: the container's engine id and the image's content digest. */
  containerId?: string;
  imageDigest?: string;
  /** With an error end, the agent's `errorKind` (absent from it: `runtime`, as reputation reads it). */
  errorKind?: string;
  /** Set when the attempt must stop; the reservation stays until it exits or its lease lapses. */
  stopping: StopReason | null;
}

export interface JobRecord {
  id: string;
  accountId: string;
  spec: JobSpec;
  status: JobStatus;
  /** The seq of the last event recorded for this job. */
  seq: number;
  /** Placements made so far (a gang's placement counts once). */
  attempts: number;
  /** The current placement's members, rank order; empty while queued. */
  members: AttemptRecord[];
  /** Nodes whose host policy refused this job's image; it never goes back to them. */
  excludedNodes: string[];
  /**
   * Nodes that lost an attempt of this job: a retry goes elsewhere while another node can take
   * it, and back to one of these only when none can (absent in records of earlier versions).
   */
  avoidedNodes?: string[];
  /**
   * Set when a node's own fault ended an attempt: until then the job stays off the nodes it
   * avoids even if no other node can take it (absent when there is no such wait).
   */
  avoidUntil?: number;
  createdAt: number;
  /** A retry after a lost attempt waits until then (backoff); null when not waiting. */
  retryAt: number | null;
  /** Why the retry waits (`after attempt 2 was lost`), while `retryAt` is set. */
  retryAfter?: string;
  /** Charged so far by ended attempts (µUSD), for the job's budget. */
  spentMicros: number;
  /** Set for an endpoint's replica: the container serves this through the node's tunnel. */
  service?: ReplicaService | undefined;
  /** The latest committed checkpoint, as the Worker reported it (what a pause keeps stored). */
  checkpoint?: { seq: number; bytes: number } | undefined;
  /** Set from a pause request until the job is resumed (see job-pause.ts). */
  pause?: PauseRecord | undefined;
  /** Placements that ended in a pause: they do not count against `maxRetries`. */
  pauses?: number | undefined;
}

/** A pause: asked for at `requestedAt`; `since` once every member stopped (storage billing starts). */
export interface PauseRecord {
  requestedAt: number;
  since: number | null;
  /** The job ends (expired) if it is not resumed by then. */
  expiresAt: number;
  /** The storage price agreed when it was paused (µUSD per GB-month). */
  storageMicrosPerGbMonth: number;
}

/** A user's job, as the Worker validated it, for its region to admit, queue and place. */
export interface SubmitRequest {
  accountId: string;
  spec: JobSpec;
  /** The caller's `Idempotency-Key`, already checked by the Worker. */
  idempotencyKey: string | undefined;
  /** An endpoint's replica: delivered to the agent as `Assignment.service`. */
  service?: ReplicaService | undefined;
}

/** What `submit` answers: where the job went, or why it waits. */
export interface SubmitOutcome {
  jobId: string;
  /** True when an earlier request with the same Idempotency-Key created the job. */
  replayed: boolean;
  status: JobStatus;
  placement: { nodeId: string; attemptId: string; rank: number }[] | null;
  explanation: PlacementExplanation | null;
  /**
   * What the new job holds on the balance (µUSD), as its admission wrote it: nothing is charged
   * before the answer, so the Worker need not read the ledger back. Null for a replay.
   */
  heldMicros: number | null;
  /**
   * A new job's row as this submit left it in D1 (its admission, then the records of its queueing
   * or placement, which the answer waits for), so the Worker need not read it back. Null for a
   * replay.
   */
  row: JobRowOf | null;
}

/** The caller of an agent route, after the Worker checked the signature. */
export interface AgentCaller {
  publicKey: string;
  nodeId: string | null;
  nonce: string;
  timestamp: number;
}

/** The reservation key of a job's current placement in the scheduler's inventory. */
export function placementKey(job: Pick<JobRecord, "id" | "attempts">): string {
  return `${job.id}#${job.attempts}`;
}

/** A job record as an earlier version of the Region object stored it: one attempt, no members. */
type StoredJob = Omit<JobRecord, "members" | "retryAt" | "spentMicros"> &
  Partial<Pick<JobRecord, "members" | "retryAt" | "spentMicros">> & {
    attempt?: (Omit<AttemptRecord, "rank" | "endedAt" | "exitCode"> & Partial<AttemptRecord>) | null;
  };

/** Reads a stored job record written by this or an earlier version into today's shape. */
export function normalizeJob(stored: StoredJob): JobRecord {
  const { attempt, ...rest } = stored;
  const members =
    stored.members ??
    (attempt
      ? [
          {
            ...attempt,
            rank: attempt.rank ?? 0,
            endedAt: attempt.endedAt ?? null,
            exitCode: attempt.exitCode ?? null,
          },
        ]
      : []);
  return { ...rest, members, retryAt: stored.retryAt ?? null, spentMicros: stored.spentMicros ?? 0 };
}
