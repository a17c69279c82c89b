import type {
  EndpointEvent,
  EndpointMetrics,
  EndpointView,
  ReplicaView,
} from "../../shared/endpoints/endpoint-views.js";
import { formatKeyValues, formatTable, orDash } from "../table.js";

/** Terminal layouts of endpoints, their replicas, events and metrics. */

function regionsOf(view: EndpointView): string {
  const regions = view.spec.regions;
  return Array.isArray(regions) ? regions.join(",") : String(regions ?? "nearest");
}

function replicasOf(view: EndpointView): string {
  const replicas = view.spec.replicas as { min?: number; max?: number } | undefined;
  return `${replicas?.min ?? 0}-${replicas?.max ?? 1}`;
}

export function renderEndpointList(views: readonly EndpointView[]): string {
  if (views.length === 0)
    return "no endpoints (create one: meridian endpoints create examples/endpoint.yaml)\n";
  return formatTable(
    ["ID", "NAME", "STATUS", "READY", "WANTED", "REPLICAS", "REGIONS", "IMAGE"],
    views.map((v) => [
      v.id,
      v.name,
      v.status,
      String(v.readyReplicas),
      String(v.desiredReplicas),
      replicasOf(v),
      regionsOf(v),
      String(v.spec.image ?? ""),
    ]),
  );
}

export function renderEndpoint(view: EndpointView, replicas: readonly ReplicaView[] = []): string {
  const head = formatKeyValues([
    ["endpoint", view.id],
    ["name", view.name],
    ["status", view.reason ? `${view.status} (${view.reason})` : view.status],
    ["image", String(view.spec.image ?? "")],
    ["port", String(view.spec.port ?? "")],
    ["regions", regionsOf(view)],
    ["replicas", `${view.readyReplicas} ready, ${view.desiredReplicas} wanted (min-max ${replicasOf(view)})`],
    ["visibility", String(view.spec.visibility ?? "private")],
    ["created", view.createdAt],
  ]);
  if (replicas.length === 0) return head;
  return `${head}\n${renderReplicas(replicas)}`;
}

export function renderReplicas(replicas: readonly ReplicaView[]): string {
  return formatTable(
    ["JOB", "REGION", "NODE", "STATE", "SINCE", "IN FLIGHT", "DETAIL"],
    replicas.map((r) => [
      r.jobId,
      r.region,
      orDash(r.nodeId),
      r.state,
      r.since,
      String(r.inFlight),
      orDash(r.detail),
    ]),
  );
}

export function renderEndpointEvents(events: readonly EndpointEvent[]): string {
  if (events.length === 0) return "no events\n";
  return formatTable(
    ["AT", "TYPE", "REGION", "MESSAGE"],
    events.map((e) => [e.at, e.type, orDash(e.region), e.message]),
  );
}

function ms(value: number | null): string {
  return value === null ? "-" : `${value} ms`;
}

export function renderEndpointMetrics(m: EndpointMetrics): string {
  return formatKeyValues([
    ["requests", `${m.requests} (${m.errors} errors, ${m.inFlight} in flight)`],
    ["latency", `p50 ${ms(m.latencyMs.p50)}, p99 ${ms(m.latencyMs.p99)}`],
    ["first byte", `p50 ${ms(m.timeToFirstByteMs.p50)}, p99 ${ms(m.timeToFirstByteMs.p99)}`],
    ["cold starts", String(m.coldStarts)],
    ["replica-seconds", String(m.replicaSeconds)],
    ["tokens", `${m.tokens.prompt} prompt, ${m.tokens.completion} completion`],
  ]);
}
