/**
 * Whether a URL's host is one a user must not point Meridian at: loopback, private, link-local,
 * carrier-grade NAT, multicast and unspecified addresses, and names that only resolve inside a
 * network (localhost, .local, .internal). Checked on the literal host: the agent and the Worker
 * never fetch a user's URL before it passed, and a deployment lists any exception explicitly.
 */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
  if (host === "" || host === "localhost" || host.endsWith(".localhost")) return true;
  if (host.endsWith(".local") || host.endsWith(".internal") || host.endsWith(".home.arpa")) return true;
  const v4 = ipv4Of(host);
  if (v4) return privateV4(v4);
  if (host.includes(":")) return privateV6(host);
  // A bare number ("2130706433") or hex form is an IPv4 address to many resolvers.
  return /^(0x[0-9a-f]+|[0-9]+)$/.test(host);
}

function ipv4Of(host: string): number[] | undefined {
  const parts = host.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p))) return undefined;
  const bytes = parts.map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

function privateV4([a = 0, b = 0]: number[]): boolean {
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

function privateV6(host: string): boolean {
  if (host === "::" || host === "::1") return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
  if (mapped?.[1]) {
    const v4 = ipv4Of(mapped[1]);
    return v4 ? privateV4(v4) : true;
  }
  if (host.startsWith("::ffff:")) return true;
  const first = Number.parseInt(host.split(":")[0] ?? "", 16);
  if (Number.isNaN(first)) return true;
  // fc00::/7 unique local, fe80::/10 link-local, ff00::/8 multicast.
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00;
}
