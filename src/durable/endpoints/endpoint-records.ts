import type { EndpointSpec } from "../../shared/endpoints/endpoint-spec.js";
import type {
  EndpointEvent,
  EndpointStatus,
  EndpointView,
  ReplicaState,
  ReplicaView,
} from "../../shared/endpoints/endpoint-views.js";
import { formatUsd } from "../../shared/money.js";

/** What an endpoint's object keeps in its storage. */
export interface EndpointRecord {
  id: string;
  accountId: string;
  spec: EndpointSpec;
  status: EndpointStatus;
  reason: string | null;
  createdAt: number;
  updatedAt: number;
  /** For `regions: "nearest"`: the region nearest the caller that first needed a replica. */
  homeRegion: string | null;
  desired: number;
  lastChangeAt: number;
}

export interface ReplicaRecord {
  jobId: string;
  region: string;
  attemptId: string | null;
  nodeId: string | null;
  state: ReplicaState;
  detail: string;
  since: number;
  createdAt: number;
  inFlight: number;
}

/** The replica states that count as placed and serving (or about to). */
export function isLive(replica: ReplicaRecord): boolean {
  return replica.state !== "draining" && replica.state !== "failed";
}

export function replicaView(r: ReplicaRecord): ReplicaView {
  return {
    jobId: r.jobId,
    attemptId: r.attemptId,
    region: r.region,
    nodeId: r.nodeId,
    state: r.state,
    detail: r.detail,
    since: new Date(r.since).toISOString(),
    inFlight: r.inFlight,
  };
}

/** The spec as the API shows it: money back in USD strings. */
export function specView(spec: EndpointSpec): Record<string, unknown> {
  const { maxPricePerGpuHour, ...rest } = spec;
  return maxPricePerGpuHour === undefined
    ? rest
    : { ...rest, maxPricePerGpuHour: formatUsd(maxPricePerGpuHour) };
}

export function endpointView(record: EndpointRecord, replicas: readonly ReplicaRecord[]): EndpointView {
  return {
    id: record.id,
    name: record.spec.name,
    status: record.status,
    reason: record.reason,
    spec: specView(record.spec),
    desiredReplicas: record.desired,
    readyReplicas: replicas.filter((r) => r.state === "ready").length,
    createdAt: new Date(record.createdAt).toISOString(),
    updatedAt: new Date(record.updatedAt).toISOString(),
  };
}

export interface StoredEvent {
  at: number;
  type: EndpointEvent["type"];
  message: string;
  region: string | null;
  jobId: string | null;
}

export function eventView(e: StoredEvent): EndpointEvent {
  return { ...e, at: new Date(e.at).toISOString() };
}
