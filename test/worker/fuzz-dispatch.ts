import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import worker from "../../src/worker/index.js";

/** One case in this many goes over `exports.default` (the loopback HTTP hop and the asset router). */
const OVER_THE_WIRE_EVERY = 20;

let sent = 0;

/**
 * Sends one fuzz case to the Worker. Most go straight into the Worker's own fetch handler, with
 * the real bindings (D1, both Durable Object namespaces, R2): the same code and storage as a
 * request from outside, without the pool's loopback HTTP hop, which costs 5–100 ms a request on a
 * loaded 2-core machine against well under 1 ms for the handler itself — the hop, not the Worker,
 * was what made 10,000 cases too slow for CI. Every OVER_THE_WIRE_EVERY-th case goes through
 * `exports.default` as before, so the whole path (asset routing, request serialisation) stays
 * fuzzed too. A dropped connection is a thrown error either way, and fails the case.
 */
export function dispatch(request: Request): Promise<Response> {
  sent += 1;
  if (sent % OVER_THE_WIRE_EVERY === 0) return exports.default.fetch(request);
  return Promise.resolve(worker.fetch(request, env, createExecutionContext()));
}
