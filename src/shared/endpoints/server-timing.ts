/**
 * The gateway's Server-Timing (W3C Server Timing): each hop of an inference request appends how
 * long its own part took before the response head, so a caller (and bench:gateway) sees where the
 * added latency goes — key check, endpoint routing, the region, the tunnel, the replica — without
 * a profiler. Durations only; nothing about the request itself.
 */
export const SERVER_TIMING = "server-timing";

/** Appends one `name;dur=ms` entry (Server-Timing entries accumulate, as repeated headers do). */
export function addTiming(headers: Headers, name: string, ms: number): void {
  headers.append(SERVER_TIMING, timingEntry(name, ms));
}

export function timingEntry(name: string, ms: number): string {
  return `${name};dur=${Math.max(0, ms).toFixed(ms < 10 ? 2 : 1)}`;
}

/** The entries of a Server-Timing header value, by name (later entries of a name win). */
export function parseTiming(value: string | null | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of (value ?? "").split(",")) {
    const match = /^\s*([\w-]+)\s*;\s*dur=([\d.]+)/.exec(entry);
    if (match?.[1] !== undefined && match[2] !== undefined) out[match[1]] = Number(match[2]);
  }
  return out;
}
