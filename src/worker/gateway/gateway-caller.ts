import type { Context } from "hono";
import { GATEWAY_CALLER_HEADER, type GatewayCaller } from "../../durable/endpoints/endpoint-forward.js";
import { openAiError } from "../../durable/endpoints/openai-error.js";
import { chunkReader } from "../../shared/endpoints/chunk-reader.js";
import { addTiming } from "../../shared/endpoints/server-timing.js";
import { parseApiKey } from "../api-keys.js";
import { isLocalHost } from "../deployment-guard.js";
import type { AppEnv } from "../hono-env.js";
import { fromCopy } from "./copy-route.js";
import { verifiedKey } from "./gateway-copies.js";
import type { Background } from "./short-copy.js";

/** The largest request body the gateway carries to a replica. */
export const MAX_GATEWAY_BODY_BYTES = 10 * 1024 * 1024;

/** Headers never passed to a replica: the caller's Meridian credentials and Cloudflare's own. */
const PRIVATE_HEADERS = [/^authorization$/i, /^cookie$/i, /^cf-/i, /^x-meridian-/i, /^host$/i];

/** A gateway failure, already an OpenAI-shaped response. */
export class GatewayRefusal extends Error {
  constructor(readonly response: Response) {
    super("gateway refusal");
  }
}

/** Work the request's context keeps alive after its response (traffic reports, copy refreshes). */
export function backgroundOf(c: Context<AppEnv>): Background {
  return (work) => c.executionCtx.waitUntil(work);
}

/**
 * The caller's key, checked against the gateway directory (no D1 read per request; see
 * gateway-directory.ts) through the isolate's 1 s copy of its answer (gateway-copies.ts). 401 in OpenAI's shape for a missing, malformed, unknown or revoked key.
 */
export async function authenticateCaller(
  c: Context<AppEnv>,
): Promise<{ accountId: string; scopes: string[] }> {
  const token = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  const parsed = token ? parseApiKey(token) : undefined;
  const key = parsed ? await verifiedKey(c.env, parsed.keyId, parsed.secret, backgroundOf(c)) : null;
  if (!key)
    throw new GatewayRefusal(
      openAiError(401, "invalid_api_key", "send a valid Meridian API key as Authorization: Bearer <key>"),
    );
  return key;
}

/**
 * Where the caller is: Cloudflare's `request.cf`, or, only when DEV_LOCATION_HEADER is "true" and
 * the Worker is reached on a local host (never a deployed one), `x-meridian-dev-location: lat,lon`.
 */
export function callerLocation(c: Context<AppEnv>): { lat: number | null; lon: number | null } {
  const devAllowed =
    String((c.env as { DEV_LOCATION_HEADER?: unknown }).DEV_LOCATION_HEADER ?? "false") === "true" &&
    isLocalHost(new URL(c.req.url).hostname);
  const dev = devAllowed
    ? /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(c.req.header("x-meridian-dev-location") ?? "")
    : null;
  if (dev) return { lat: Number(dev[1]), lon: Number(dev[2]) };
  const cf = (c.req.raw as Request & { cf?: { latitude?: string; longitude?: string } }).cf;
  const lat = Number(cf?.latitude);
  const lon = Number(cf?.longitude);
  return cf?.latitude !== undefined && Number.isFinite(lat) && Number.isFinite(lon)
    ? { lat, lon }
    : { lat: null, lon: null };
}

/** The body, whole (a failover re-sends it), refused with 413 past MAX_GATEWAY_BODY_BYTES. */
export async function gatewayBody(c: Context<AppEnv>): Promise<ArrayBuffer | null> {
  const tooLarge = (): never => {
    throw new GatewayRefusal(
      openAiError(
        413,
        "request_too_large",
        `the request body is larger than ${MAX_GATEWAY_BODY_BYTES} bytes`,
      ),
    );
  };
  if (Number(c.req.header("content-length") ?? "0") > MAX_GATEWAY_BODY_BYTES) tooLarge();
  const body = c.req.raw.body;
  if (!body) return null;
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_GATEWAY_BODY_BYTES) {
      await reader.cancel();
      tooLarge();
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out.buffer;
}

/**
 * Routes a checked request to a region's replica: from the gateway's copy of the endpoint when it
 * can (copy-route.ts), else through the endpoint's object, which also waits out a cold start.
 */
export async function toEndpoint(
  c: Context<AppEnv>,
  endpointId: string,
  caller: Omit<GatewayCaller, "lat" | "lon">,
  body: ArrayBuffer | null,
  timing: [name: string, ms: number][] = [],
): Promise<Response> {
  const sentAt = Date.now();
  const headers = new Headers();
  for (const [name, value] of c.req.raw.headers)
    if (!PRIVATE_HEADERS.some((p) => p.test(name))) headers.set(name, value);
  const located: GatewayCaller = { ...caller, ...callerLocation(c) };
  const copied = await fromCopy(c.env, backgroundOf(c), endpointId, {
    method: c.req.method,
    headers,
    body,
    caller: located,
    signal: c.req.raw.signal,
  });
  if (copied) {
    for (const [name, ms] of timing) addTiming(copied.headers, name, ms);
    return copied;
  }
  headers.set(GATEWAY_CALLER_HEADER, JSON.stringify(located));
  const stub = c.env.ENDPOINT.get(c.env.ENDPOINT.idFromName(endpointId));
  const response = await stub.fetch("https://endpoint/", {
    method: c.req.method,
    headers,
    // A caller that goes away cancels the replica's request through every hop (see region-tunnels.ts).
    signal: c.req.raw.signal,
    ...(body && body.byteLength > 0 ? { body } : {}),
  });
  const held = heldUntilRead(response);
  for (const [name, ms] of timing) addTiming(held.headers, name, ms);
  addTiming(held.headers, "to-endpoint", Date.now() - sentAt);
  return held;
}

/**
 * The endpoint's response with its body read through this request's JavaScript, never handed on
 * as the subrequest's own stream. Handed on, workerd proxies it natively after the handler returns
 * and ends this request's context; a caller who then disconnected reached no one (no abort, no
 * cancel in the endpoint's object) about one stream in four, and the engine generated on. Read
 * here, the context lives as long as the body, and a disconnect cancels it and its subrequest.
 */
export function heldUntilRead(response: Response): Response {
  const source = response.body;
  if (!source) return new Response(null, response);
  const reader = chunkReader(source);
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
  return new Response(body, response);
}
