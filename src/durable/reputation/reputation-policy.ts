const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The tunable figures of reputation. Weights sum to 1. Attempt success carries the most weight
 * because a lost attempt costs a user real time and money; uptime next, because a node that comes
 * and goes loses attempts even when it never fails one outright; verification consistency keeps a
 * node honest between challenges; acknowledgement latency is a small tie-breaker, since it also
 * includes the image pull, which the node controls only in part.
 */
export interface ReputationPolicy {
  weights: { uptime: number; successRate: number; ackLatency: number; verification: number };
  /** Half-life of uptime, attempt and verification evidence: a week forgives but does not forget. */
  halfLifeMs: number;
  /** Acknowledgement latency follows recent behaviour more closely (an image cache warms up). */
  ackHalfLifeMs: number;
  /** Latency that scores 0.5: score = ref / (ref + latency). */
  ackReferenceMs: number;
  /** Uptime is smoothed towards 0.5 by this much pseudo-observation, so a 5-minute node is not 1.0. */
  uptimePriorMs: number;
  /** Node-attributable failures within `failureWindowMs` that quarantine the node. */
  failuresToQuarantine: number;
  failureWindowMs: number;
  /**
   * Dropped-and-returned connections within `failureWindowMs` that quarantine the node: each
   * costs no attempt, but a node that keeps dropping would cost them soon, so it takes no new work.
   */
  flapsToQuarantine: number;
  /** How long a quarantined node gets no new work. */
  quarantineMs: number;
  /** Quarantines within `expelWindowMs` that expel the node until an operator lifts it. */
  quarantinesToExpel: number;
  expelWindowMs: number;
  /** Evidence (in events, or days observed) at which confidence reaches one half. */
  confidenceHalfEvidence: number;
}

export const DEFAULT_REPUTATION_POLICY: ReputationPolicy = {
  weights: { uptime: 0.3, successRate: 0.35, ackLatency: 0.1, verification: 0.25 },
  halfLifeMs: 7 * DAY_MS,
  ackHalfLifeMs: 3 * DAY_MS,
  ackReferenceMs: 60_000,
  uptimePriorMs: 6 * HOUR_MS,
  failuresToQuarantine: 3,
  failureWindowMs: HOUR_MS,
  flapsToQuarantine: 5,
  quarantineMs: 6 * HOUR_MS,
  quarantinesToExpel: 3,
  expelWindowMs: 7 * DAY_MS,
  confidenceHalfEvidence: 10,
};

function wholeMs(raw: unknown, fallback: number, max: number): number {
  const value = typeof raw === "string" || typeof raw === "number" ? Number(raw) : Number.NaN;
  return Number.isInteger(value) && value > 0 && value <= max ? value : fallback;
}

/**
 * The deployment's overrides of the penalties, from Worker vars: `REPUTATION_QUARANTINE_MS` (how
 * long a quarantine lasts) and `REPUTATION_QUARANTINES_TO_EXPEL` (quarantines within the week that
 * expel). A value that is not a positive whole number keeps the default. The chaos suite shortens
 * the one and raises the other, so a fleet whose agents it kills dozens of times in minutes (which
 * should cost a real provider its place) keeps coming back to take the flow.
 */
export function reputationPolicyOf(env: object): Partial<ReputationPolicy> {
  const vars = env as Record<string, unknown>;
  return {
    quarantineMs: wholeMs(vars.REPUTATION_QUARANTINE_MS, DEFAULT_REPUTATION_POLICY.quarantineMs, 30 * DAY_MS),
    quarantinesToExpel: wholeMs(
      vars.REPUTATION_QUARANTINES_TO_EXPEL,
      DEFAULT_REPUTATION_POLICY.quarantinesToExpel,
      1_000_000,
    ),
  };
}
