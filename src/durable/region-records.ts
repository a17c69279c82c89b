import type { HardwareReport } from "../shared/hardware.js";
import type { JobSpec } from "../shared/job-spec.js";
import type { JobStatus } from "../shared/job-status.js";

/** What the Region object keeps, in memory and in its storage, about nodes, jobs and attempts. */

export interface NodeRecord {
  id: string;
  publicKey: string;
  region: string;
  hardware: HardwareReport;
  pricePerGpuHourMicros: number;
  labels: Record<string, string>;
  agentVersion: string;
  runtime: "docker" | "none";
  registeredAt: number;
}

export interface AttemptRecord {
  id: string;
  nodeId: string;
  fencing: number;
  /** GPU uuids reserved for this attempt on its node. */
  gpuUuids: string[];
  cpus: number;
  memoryMib: number;
  pricePerGpuHourMicros: number;
  assignedAt: number;
  startedAt: number | null;
  /** Set when the attempt must stop (the job was cancelled); the reservation stays until it exits. */
  stopping: "cancelled" | null;
}

export interface JobRecord {
  id: string;
  accountId: string;
  spec: JobSpec;
  status: JobStatus;
  /** The seq of the last event recorded for this job. */
  seq: number;
  attempts: number;
  attempt: AttemptRecord | null;
  /** Nodes that lost an attempt of this job; a retry goes elsewhere. */
  excludedNodes: string[];
  createdAt: number;
}

/** A job the Worker has recorded as queued and hands to its region. */
export interface SubmittedJob {
  id: string;
  accountId: string;
  spec: JobSpec;
  createdAt: number;
}

/** The caller of an agent route, after the Worker checked the signature. */
export interface AgentCaller {
  publicKey: string;
  nodeId: string | null;
  nonce: string;
  timestamp: number;
}
