import { chunkReader } from "../../shared/endpoints/chunk-reader.js";
import { distanceKm, type Region } from "../../shared/regions.js";
import { shardStub } from "../../worker/region-routing.js";
import { shardCountOf } from "../region-shard.js";
import { shardOf } from "../scheduler/index.js";
import { usageOf } from "./endpoint-metrics.js";
import { fnv1a } from "./replica-board.js";
import { TUNNEL_HEADERS, TUNNEL_PATH } from "./tunnel-headers.js";

/** What the gateway tells the endpoint's object about a caller (internal header, Worker → object). */
export interface GatewayCaller {
  accountId: string;
  scopes: string[];
  lat: number | null;
  lon: number | null;
  /** Path and query on the container. */
  path: string;
  affinity: string | null;
}

export const GATEWAY_CALLER_HEADER = "x-meridian-gateway-caller";

/** Regions, nearest the caller first (the configured order when the caller's location is unknown). */
export function byDistance(regions: readonly Region[], lat: number | null, lon: number | null): Region[] {
  if (lat === null || lon === null) return [...regions];
  return [...regions].sort((a, b) => distanceKm(lat, lon, a.lat, a.lon) - distanceKm(lat, lon, b.lat, b.lon));
}

/**
 * Where a ready replica can be reached: its region and the shard of it (REGION_SHARDS) that holds
 * its job, its node and so the node's tunnel (a shard places a job only on its own nodes, and the
 * job's id hashes to it).
 */
export interface ReplicaTarget {
  region: string;
  shard: number;
}

/** The distinct targets of these ready replicas. */
export function readyTargets(
  env: Env,
  replicas: readonly { region: string; jobId: string; state: string }[],
): ReplicaTarget[] {
  const seen = new Map<string, ReplicaTarget>();
  for (const r of replicas) {
    if (r.state !== "ready") continue;
    const shard = shardOf(r.jobId, shardCountOf(env, r.region));
    seen.set(`${r.region}#${shard}`, { region: r.region, shard });
  }
  return [...seen.values()];
}

/**
 * Targets in the regions' order nearest the caller first. Within a region its shards take turns
 * being first (each shard then picks its least-loaded replica), so traffic spreads over every
 * shard's replicas; with an affinity key the same shard is first every time while it is ready.
 */
export function byCallerDistance(
  regions: readonly Region[],
  targets: readonly ReplicaTarget[],
  caller: { lat: number | null; lon: number | null; affinity: string | null },
  draw: () => number = Math.random,
): ReplicaTarget[] {
  const order = byDistance(regions, caller.lat, caller.lon).map((r) => r.id);
  const turn = caller.affinity ? fnv1a(caller.affinity) : Math.floor(draw() * 2 ** 32);
  return order.flatMap((id) => {
    const shards = targets.filter((t) => t.region === id).sort((a, b) => a.shard - b.shard);
    const first = shards.length > 0 ? turn % shards.length : 0;
    return [...shards.slice(first), ...shards.slice(0, first)];
  });
}

/**
 * Tries the targets in order until one's tunnel takes the request: a shard answering
 * "unreachable" received nothing at any replica, so the next (another shard, then the
 * next-nearest region) is tried with the same bytes. Undefined when every one was unreachable.
 */
export async function forwardToRegions(
  env: Env,
  endpointId: string,
  targets: readonly ReplicaTarget[],
  request: {
    method: string;
    headers: Headers;
    body: ArrayBuffer | null;
    caller: GatewayCaller;
    /** The caller's request signal: aborts the region's stream when the caller goes away. */
    signal: AbortSignal;
  },
): Promise<{ response: Response; region: string } | undefined> {
  for (const { region, shard } of targets) {
    const headers = new Headers(request.headers);
    headers.delete(GATEWAY_CALLER_HEADER);
    headers.set(TUNNEL_HEADERS.endpoint, endpointId);
    headers.set(TUNNEL_HEADERS.path, request.caller.path);
    if (request.caller.affinity) headers.set(TUNNEL_HEADERS.affinity, request.caller.affinity);
    const response = await shardStub(env, region, shard).fetch(`https://region${TUNNEL_PATH}`, {
      method: request.method,
      headers,
      signal: request.signal,
      ...(request.body && request.body.byteLength > 0 ? { body: request.body } : {}),
    });
    if (response.headers.get(TUNNEL_HEADERS.outcome) === "unreachable") {
      await response.body?.cancel();
      continue;
    }
    return { response, region };
  }
  return undefined;
}

/** Where a response's measurements go: the endpoint's meter, or the gateway's report to it. */
export interface MeterSink {
  tokens(prompt: number, completion: number): void;
  finished(outcome: { ok: boolean; latencyMs: number; ttfbMs: number | null; coldStart: boolean }): void;
  /** Called as the body moves (a long stream's heartbeat). */
  alive?(): void;
}

/** Tail bytes kept to find a response's token usage (OpenAI puts it last). */
const TAIL_BYTES = 16 * 1024;

/**
 * The replica's response as the caller gets it, measured on the way: time to first byte, latency
 * to the end, errors, and token usage from the body's tail. Pull-based, so the tunnel's credit
 * still follows the caller's reading; a caller that goes away cancels the upstream stream.
 */
export function metered(
  response: Response,
  meter: MeterSink,
  startedAt: number,
  coldStart: boolean,
  ok: boolean,
): Response {
  const ttfbMs = Date.now() - startedAt;
  const source = response.body;
  const done = (success: boolean, tail: string): void => {
    const usage = usageOf(tail);
    if (usage) meter.tokens(usage.prompt, usage.completion);
    meter.finished({ ok: ok && success, latencyMs: Date.now() - startedAt, ttfbMs, coldStart });
  };
  if (!source) {
    done(true, "");
    return new Response(null, { status: response.status, headers: response.headers });
  }
  const reader = chunkReader(source);
  const decoder = new TextDecoder();
  let tail = "";
  let finished = false;
  const finish = (success: boolean): void => {
    if (finished) return;
    finished = true;
    done(success && !tail.includes('data: {"error"'), tail);
  };
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done: end, value } = await reader.read();
          if (end) {
            finish(true);
            controller.close();
            return;
          }
          tail = (tail + decoder.decode(value, { stream: true })).slice(-TAIL_BYTES);
          controller.enqueue(value);
          meter.alive?.();
        } catch (error) {
          finish(false);
          controller.error(error);
        }
      },
      async cancel(reason) {
        finish(false);
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: response.status, headers: response.headers });
}

/** The gateway's caller header, checked (it is internal, but a malformed one must not throw). */
export function parseCaller(text: string | null): GatewayCaller | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<GatewayCaller>;
    if (typeof value.accountId !== "string" || !Array.isArray(value.scopes) || typeof value.path !== "string")
      return undefined;
    return {
      accountId: value.accountId,
      scopes: value.scopes.filter((s): s is string => typeof s === "string"),
      lat: typeof value.lat === "number" ? value.lat : null,
      lon: typeof value.lon === "number" ? value.lon : null,
      path: value.path,
      affinity: typeof value.affinity === "string" ? value.affinity : null,
    };
  } catch {
    return undefined;
  }
}
