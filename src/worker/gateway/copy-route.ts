import { accessRefusal } from "../../durable/endpoints/endpoint-access.js";
import {
  byCallerDistance,
  forwardToRegions,
  type GatewayCaller,
  metered,
} from "../../durable/endpoints/endpoint-forward.js";
import { addTiming } from "../../shared/endpoints/server-timing.js";
import { regionsOf } from "../region-routing.js";
import { endpointRoute, forgetEndpointCopy } from "./gateway-copies.js";
import type { Background } from "./short-copy.js";
import { TrafficReporter } from "./traffic-reporter.js";

/**
 * A caller's request routed from the gateway's copy of the endpoint (gateway-copies.ts), with no
 * hop through the endpoint's object: access checked against the copy, the nearest region with a
 * ready replica tried first and the next-nearest while nothing reached a replica, the response
 * measured on the way and reported to the object afterwards (traffic-reporter.ts).
 *
 * Undefined when the copy cannot serve it: the endpoint is unknown here, has no ready replica (a
 * cold start, which only the object can wait for), or every region it names was unreachable (the
 * copy is dropped). The caller then goes to the object, with the same bytes: nothing reached a
 * replica.
 */
export async function fromCopy(
  env: Env,
  background: Background,
  endpointId: string,
  request: {
    method: string;
    headers: Headers;
    body: ArrayBuffer | null;
    caller: GatewayCaller;
    signal: AbortSignal;
  },
): Promise<Response | undefined> {
  const askedAt = Date.now();
  const route = await endpointRoute(env, endpointId, background).catch(() => null);
  if (!route) return undefined;
  const refusal = accessRefusal(route, request.caller);
  if (refusal) return refusal;
  const regions = byCallerDistance(regionsOf(env), route.ready, request.caller);
  if (regions.length === 0) return undefined;
  const startedAt = Date.now();
  const served = await forwardToRegions(env, endpointId, regions, request);
  if (!served) {
    forgetEndpointCopy(endpointId);
    return undefined;
  }
  const reporter = new TrafficReporter(env, background, endpointId);
  reporter.arrived(Date.now() - startedAt);
  let tokens = { prompt: 0, completion: 0 };
  const response = metered(
    served.response,
    {
      tokens: (prompt, completion) => {
        tokens = { prompt, completion };
      },
      finished: (outcome) =>
        reporter.finished({
          ok: outcome.ok,
          latencyMs: outcome.latencyMs,
          ttfbMs: outcome.ttfbMs,
          promptTokens: tokens.prompt,
          completionTokens: tokens.completion,
        }),
      alive: () => reporter.alive(),
    },
    startedAt,
    false,
    served.response.status < 500,
  );
  addTiming(response.headers, "copy", startedAt - askedAt);
  addTiming(response.headers, "to-region", Date.now() - startedAt);
  return response;
}
