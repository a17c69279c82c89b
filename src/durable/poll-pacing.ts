/**
 * How often agents call their region, as the region grows (Nomad scales its heartbeat TTL the same
 * way). One Durable Object serves about 1,000 requests/s; idle agents may use at most
 * TARGET_IDLE_SHARE of that. Each idle agent makes one request per (held poll + pause), so the
 * pause after an empty poll grows with the number of nodes; leases and liveness stretch with it.
 */
export const OBJECT_REQUESTS_PER_SECOND = 1_000;
export const TARGET_IDLE_SHARE = 0.4;

export interface Pacing {
  /** Pause after a poll that brought nothing, before the next. */
  pauseMs: number;
  /** How long an attempt's lease lasts without a renewing poll. */
  leaseTtlMs: number;
  /** How long a node may stay silent and still count as live. */
  graceMs: number;
}

export function pacingFor(
  nodes: number,
  pollWaitMs: number,
  baseLeaseTtlMs: number,
  baseGraceMs: number,
): Pacing {
  const budget = OBJECT_REQUESTS_PER_SECOND * TARGET_IDLE_SHARE;
  const cycleMs = (nodes / budget) * 1000;
  const pauseMs = Math.max(0, Math.ceil(cycleMs - pollWaitMs));
  return {
    pauseMs,
    leaseTtlMs: baseLeaseTtlMs + pauseMs,
    graceMs: baseGraceMs + pauseMs,
  };
}

/** Spreads pauses over ±20% so a region's agents do not fall into step. */
export function jittered(ms: number, random: () => number = Math.random): number {
  return ms === 0 ? 0 : Math.round(ms * (0.8 + 0.4 * random()));
}

/**
 * Wait before a lost job is placed again: none after its first lost attempt (the node is gone; the
 * job should run elsewhere now), then 2 s, 4 s, 8 s … up to a minute, so a job that keeps losing
 * its nodes does not churn the region.
 */
export function retryBackoffMs(attempts: number): number {
  if (attempts <= 1) return 0;
  return Math.min(60_000, 2_000 * 2 ** Math.max(0, attempts - 2));
}
