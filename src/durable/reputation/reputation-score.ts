import { PRIOR_REPUTATION } from "../scheduler/scheduler-node.js";
import type { ReputationPolicy } from "./reputation-policy.js";
import type { ReputationState } from "./reputation-state.js";

/** The raw components a provider sees; null where there is no evidence yet. */
export interface ReputationComponents {
  /** Fraction of observed time online (decayed). */
  uptime: number | null;
  /** Succeeded / (succeeded + lost + agent errors), decayed; the user's failures are not in it. */
  successRate: number | null;
  /** Mean assigned → started time, decayed. */
  ackLatencyMs: number | null;
  /** (verified + ½ suspect) / all judgements, decayed. */
  verification: number | null;
}

export interface Scored {
  score: number;
  /** 0..1: how much evidence stands behind the score (0.5 at `confidenceHalfEvidence`). */
  confidence: number;
  components: ReputationComponents;
}

const DAY_MS = 86_400_000;

/** A rate smoothed towards the neutral prior by `priorWeight` pseudo-observations. */
function smoothed(value: number, weight: number, priorWeight: number): number {
  return (value * weight + PRIOR_REPUTATION * priorWeight) / (weight + priorWeight);
}

/**
 * The score: a weighted mean of the four components, each smoothed towards the neutral prior so a
 * node with little history sits near 0.5 and moves as evidence builds (a Beta(1,1)-like prior for
 * the counts, `uptimePriorMs` of pseudo-time for uptime). Pass a state already advanced to now.
 */
export function scoreOf(state: ReputationState, policy: ReputationPolicy): Scored {
  const { weights } = policy;
  const attempts = state.successes + state.failures;
  const judgements = state.verified + state.suspect + state.rejected;
  const components: ReputationComponents = {
    uptime: state.observedMs > 0 ? state.upMs / state.observedMs : null,
    successRate: attempts > 0 ? state.successes / attempts : null,
    ackLatencyMs: state.ackWeight > 0 ? state.ackSumMs / state.ackWeight : null,
    verification: judgements > 0 ? (state.verified + state.suspect / 2) / judgements : null,
  };
  const uptime = smoothed(components.uptime ?? 0, state.observedMs, policy.uptimePriorMs);
  const success = smoothed(components.successRate ?? 0, attempts, 2);
  const ackScore =
    components.ackLatencyMs === null
      ? 0
      : policy.ackReferenceMs / (policy.ackReferenceMs + components.ackLatencyMs);
  const ack = smoothed(ackScore, state.ackWeight, 1);
  const verification = smoothed(components.verification ?? 0, judgements, 1);
  const score =
    weights.uptime * uptime +
    weights.successRate * success +
    weights.ackLatency * ack +
    weights.verification * verification;
  const evidence = state.observedMs / DAY_MS + attempts + state.ackWeight + judgements;
  return {
    score: Math.min(1, Math.max(0, score)),
    confidence: evidence / (evidence + policy.confidenceHalfEvidence),
    components,
  };
}
