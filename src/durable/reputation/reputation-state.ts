import { decayedSpanMs, decayFactor } from "./decay.js";
import type { ReputationPolicy } from "./reputation-policy.js";

/** Lifetime counts, undecayed, for the provider's view. */
export interface ReputationTotals {
  succeeded: number;
  lost: number;
  agentErrors: number;
  /** Non-zero exits and timeouts of the user's own containers: shown, never held against the node. */
  userFailures: number;
  acknowledged: number;
  verified: number;
  suspect: number;
  rejected: number;
  quarantines: number;
  expulsions: number;
  lifts: number;
}

/**
 * One node's reputation as plain JSON, the form the Region object stores under one key per node.
 * The decayed sums are as of `updatedAt`; `advance` brings them to a later instant.
 */
export interface ReputationState {
  v: 1;
  firstSeenAt: number;
  updatedAt: number;
  online: boolean;
  /** Decayed milliseconds online, and observed at all (online or off). */
  upMs: number;
  observedMs: number;
  /** Decayed counts of node-attributable attempt outcomes. */
  successes: number;
  failures: number;
  /** Decayed weight and latency sum of acknowledgements (assigned → started). */
  ackWeight: number;
  ackSumMs: number;
  /** Decayed counts of verification outcomes. */
  verified: number;
  suspect: number;
  rejected: number;
  /** Times of node-attributable failures still inside the failure window. */
  recentFailures: number[];
  /**
   * The node-loss incident its last failure was counted under (absent: none, or an older record):
   * further attempts lost in the same incident add evidence to the score but no further failure.
   */
  lastIncident?: string;
  /** Times of quarantines still inside the expulsion window. */
  recentQuarantines: number[];
  /** Times its held connection dropped and came back, inside the failure window (absent: none yet). */
  recentFlaps?: number[];
  quarantinedUntil: number | null;
  expelledAt: number | null;
  /** Why the node was last quarantined or expelled. */
  penaltyReason: string | null;
  totals: ReputationTotals;
}

export function newReputationState(now: number): ReputationState {
  return {
    v: 1,
    firstSeenAt: now,
    updatedAt: now,
    online: false,
    upMs: 0,
    observedMs: 0,
    successes: 0,
    failures: 0,
    ackWeight: 0,
    ackSumMs: 0,
    verified: 0,
    suspect: 0,
    rejected: 0,
    recentFailures: [],
    recentQuarantines: [],
    quarantinedUntil: null,
    expelledAt: null,
    penaltyReason: null,
    totals: {
      succeeded: 0,
      lost: 0,
      agentErrors: 0,
      userFailures: 0,
      acknowledged: 0,
      verified: 0,
      suspect: 0,
      rejected: 0,
      quarantines: 0,
      expulsions: 0,
      lifts: 0,
    },
  };
}

/**
 * The state decayed (and its uptime integrated) up to `now`, as a new object. Uptime is observed
 * only from the first `online`: a node's time before it ever appeared is not downtime.
 */
export function advance(state: ReputationState, now: number, policy: ReputationPolicy): ReputationState {
  const elapsed = now - state.updatedAt;
  if (elapsed <= 0) return { ...state };
  const keep = decayFactor(elapsed, policy.halfLifeMs);
  const keepAck = decayFactor(elapsed, policy.ackHalfLifeMs);
  const span = decayedSpanMs(elapsed, policy.halfLifeMs);
  const observing = state.online || state.observedMs > 0;
  return {
    ...state,
    updatedAt: now,
    upMs: state.upMs * keep + (state.online ? span : 0),
    observedMs: state.observedMs * keep + (observing ? span : 0),
    successes: state.successes * keep,
    failures: state.failures * keep,
    ackWeight: state.ackWeight * keepAck,
    ackSumMs: state.ackSumMs * keepAck,
    verified: state.verified * keep,
    suspect: state.suspect * keep,
    rejected: state.rejected * keep,
  };
}
