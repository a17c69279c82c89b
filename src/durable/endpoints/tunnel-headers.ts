/**
 * How an endpoint's object forwards a caller's request to a region (a Durable Object fetch to
 * TUNNEL_PATH): the request's method and body as they are, the container path and routing hints in
 * these internal headers, which never reach the replica.
 */
export const TUNNEL_PATH = "/tunnel";

export const TUNNEL_HEADERS = {
  endpoint: "x-meridian-tunnel-endpoint",
  path: "x-meridian-tunnel-path",
  affinity: "x-meridian-tunnel-affinity",
  /** On the region's answer: "unreachable" (nothing reached a replica) or "failed". */
  outcome: "x-meridian-tunnel-outcome",
  /** On the region's answer: the replica (attempt id) that served it. */
  replica: "x-meridian-replica",
} as const;
