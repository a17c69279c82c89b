import type { LocationFact, NodeLocation } from "../shared/node-location.js";

interface ConnectionView {
  latitude?: string;
  longitude?: string;
  country?: string;
}

/**
 * Where a registering node is: what its agent reported, else Cloudflare's view of the connection
 * (request.cf), else nothing (the node then fails `near` and `countries` constraints, as it should).
 */
export function locationFact(reported: NodeLocation | undefined, request: Request): LocationFact | undefined {
  if (reported) return { ...reported, source: "agent" };
  const cf = (request as Request & { cf?: ConnectionView }).cf;
  const lat = Number(cf?.latitude);
  const lon = Number(cf?.longitude);
  const country = cf?.country && /^[A-Z]{2}$/.test(cf.country) ? cf.country : undefined;
  const located = cf?.latitude !== undefined && Number.isFinite(lat) && Number.isFinite(lon);
  if (!located && country === undefined) return undefined;
  return { ...(located ? { lat, lon } : {}), ...(country ? { country } : {}), source: "connection" };
}
