import type { Assignment } from "../shared/agent-protocol.js";
import { plainEnv, usesStorage } from "../shared/storage/env-secrets.js";
import { memberCpuHourMicros } from "./attempt-records.js";
import type { AttemptRecord, JobRecord, NodeRecord } from "./region-records.js";

/** The port rank 0 listens on for the rendezvous (torch.distributed's customary one). */
export const RENDEZVOUS_PORT = 29500;
/** Ray's default head port, for jobs that start a Ray cluster on rank 0. */
export const RAY_HEAD_PORT = 6379;
/** Where a container finds the folder to write checkpoints to and resume from. */
export const CHECKPOINT_DIR = "/meridian/checkpoint";

/**
 * Where a node's peers reach it: the address it advertised, else its `address` label, else a name
 * a provider's own network may resolve.
 */
export function peerAddress(node: NodeRecord | undefined, nodeId: string): string {
  return node?.advertiseAddress ?? node?.labels.address ?? `${nodeId}.meridian.internal`;
}

/**
 * The variables a container is started with: the user's, Meridian's own (job, attempt, region,
 * checkpoint folder) and, for every job, the rendezvous a distributed run needs — Meridian's names
 * plus the ones torchrun (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, and its PET_ flags) and Ray
 * expect — so a gang starts with no glue code.
 */
export function containerEnv(
  job: JobRecord,
  attempt: AttemptRecord,
  region: string,
  master: string,
): Record<string, string> {
  const world = String(job.members.length);
  const rank = String(attempt.rank);
  const port = String(RENDEZVOUS_PORT);
  return {
    // Secret values never enter the Region object: the agent fetches them for its attempt.
    ...plainEnv(job.spec.env),
    MERIDIAN_JOB_ID: job.id,
    MERIDIAN_ATTEMPT_ID: attempt.id,
    MERIDIAN_ATTEMPT: String(job.attempts),
    MERIDIAN_REGION: region,
    MERIDIAN_NODE_ID: attempt.nodeId,
    MERIDIAN_CHECKPOINT_DIR: job.spec.checkpoint?.path ?? CHECKPOINT_DIR,
    MERIDIAN_RANK: rank,
    MERIDIAN_WORLD_SIZE: world,
    MERIDIAN_MASTER_ADDR: master,
    MERIDIAN_MASTER_PORT: port,
    RANK: rank,
    WORLD_SIZE: world,
    NODE_RANK: rank,
    NNODES: world,
    MASTER_ADDR: master,
    MASTER_PORT: port,
    PET_NNODES: world,
    PET_NODE_RANK: rank,
    PET_MASTER_ADDR: master,
    PET_MASTER_PORT: port,
    RAY_ADDRESS: `${master}:${RAY_HEAD_PORT}`,
  };
}

/** A CPU-only attempt's hourly price at its node's vCPU price, for the agent's usage statement. */
function cpuHourOf(job: JobRecord, attempt: AttemptRecord): { cpuHourMicros?: number } {
  const price = memberCpuHourMicros(job, attempt);
  return price > 0 ? { cpuHourMicros: price } : {};
}

export function assignmentOf(
  job: JobRecord,
  attempt: AttemptRecord,
  region: string,
  master: string,
  leaseExpiresAt: number,
  runSeconds: number,
): Assignment {
  return {
    jobId: job.id,
    attemptId: attempt.id,
    fencing: attempt.fencing,
    leaseExpiresAt,
    image: job.spec.image,
    command: job.spec.command,
    env: containerEnv(job, attempt, region, master),
    gpuUuids: attempt.gpuUuids,
    cpus: attempt.cpus,
    memoryMib: attempt.memoryMib,
    timeoutSeconds: runSeconds,
    pricePerGpuHourMicros: attempt.pricePerGpuHourMicros,
    ...cpuHourOf(job, attempt),
    ...(usesStorage(job.spec) ? { storage: true } : {}),
    ...(job.service ? { service: job.service } : {}),
  };
}
