import { PRESENCE_PING_INTERVAL_MS, PRESENCE_SILENCE_MS } from "../shared/presence-ping.js";
import { MIN_SILENCE_MS, PHI_THRESHOLD, type PresencePolicy, RECONNECT_WINDOW_MS } from "./node-presence.js";
import { type Pacing, pacingFor } from "./poll-pacing.js";

/**
 * Timing of the agent protocol. A poll is held open up to `pollWaitMs` (under the Workers' 25 s
 * limit for a held request); each poll renews the leases of the attempts it lists. A node is live
 * while it polled within `graceMs`; an attempt whose lease lapses is lost. Deployments keep the
 * defaults; end-to-end tests shorten them through vars of the same names.
 */
export const POLL_WAIT_MS = 20_000;
export const LEASE_TTL_MS = 45_000;
export const NODE_GRACE_MS = 45_000;
/** How often the alarm looks for lapsed leases, silent nodes and unflushed records. */
export const SWEEP_INTERVAL_MS = 5_000;

export interface Timing {
  pollWaitMs: number;
  leaseTtlMs: number;
  graceMs: number;
  sweepMs: number;
  /** How long a node whose held poll dropped may take to poll again before its attempts are lost. */
  reconnectWindowMs: number;
  /** The shortest silence after an answered poll that counts as a node gone (see node-presence.ts). */
  minSilenceMs: number;
  /** How long a presence socket that pings may go without one before it counts as dropped. */
  presenceSilenceMs: number;
}

function positive(raw: unknown, fallback: number, max: number): number {
  const value = typeof raw === "string" || typeof raw === "number" ? Number(raw) : Number.NaN;
  return Number.isInteger(value) && value > 0 && value <= max ? value : fallback;
}

export function timingOf(env: object): Timing {
  const vars = env as Record<string, unknown>;
  const pollWaitMs = positive(vars.POLL_WAIT_MS, POLL_WAIT_MS, 20_000);
  return {
    pollWaitMs,
    leaseTtlMs: Math.max(pollWaitMs + 1_000, positive(vars.LEASE_TTL_MS, LEASE_TTL_MS, 600_000)),
    graceMs: Math.max(pollWaitMs + 1_000, positive(vars.NODE_GRACE_MS, NODE_GRACE_MS, 600_000)),
    sweepMs: positive(vars.SWEEP_INTERVAL_MS, SWEEP_INTERVAL_MS, 60_000),
    reconnectWindowMs: positive(vars.RECONNECT_WINDOW_MS, RECONNECT_WINDOW_MS, 120_000),
    minSilenceMs: positive(vars.MIN_SILENCE_MS, MIN_SILENCE_MS, 600_000),
    presenceSilenceMs: Math.max(
      2 * PRESENCE_PING_INTERVAL_MS,
      positive(vars.PRESENCE_SILENCE_MS, PRESENCE_SILENCE_MS, 600_000),
    ),
  };
}

/**
 * How long leases and liveness last in a region of a given size: the configured timing, stretched
 * by the poll pacing as the region grows (see poll-pacing.ts).
 */
export class LeasePolicy {
  constructor(readonly timing: Timing) {}

  presence(): PresencePolicy {
    return {
      reconnectWindowMs: this.timing.reconnectWindowMs,
      minSilenceMs: this.timing.minSilenceMs,
      phiThreshold: PHI_THRESHOLD,
    };
  }

  pacing(nodes: number): Pacing {
    return pacingFor(nodes, this.timing.pollWaitMs, this.timing.leaseTtlMs, this.timing.graceMs);
  }
}
