/**
 * Headers across the tunnel. Hop-by-hop headers (RFC 9110 §7.6.1) describe one connection and
 * never cross a proxy: the region's request reaches the container over a fresh connection of the
 * agent's, and the container's framing (chunked, keep-alive) is the agent's business, not the
 * caller's. Everything else passes through as it came, repeated headers included.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
  "content-length",
]);

function crosses(name: string): boolean {
  return !HOP_BY_HOP.has(name.toLowerCase());
}

/**
 * The container's request headers from the region's: `host` names the container, and the body is
 * chunked (its length is not known until the region's `end`) unless the caller gave one.
 */
export function requestHeaders(
  headers: readonly (readonly [string, string])[],
  host: string,
): [string, string][] {
  const out: [string, string][] = headers.filter(([name]) => crosses(name)).map(([n, v]) => [n, v]);
  const length = headers.find(([name]) => name.toLowerCase() === "content-length");
  if (length !== undefined) out.push(["content-length", length[1]]);
  out.push(["host", host]);
  return out;
}

/** The container's response headers as the tunnel carries them (pairs, from Node's raw list). */
export function responseHeaders(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length && out.length < 200; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (name === undefined || value === undefined || !crosses(name)) continue;
    if (name.length > 256 || value.length > 8192) continue;
    out.push([name, value]);
  }
  return out;
}
