import type { ReputationPolicy } from "./reputation-policy.js";
import type { ReputationState } from "./reputation-state.js";

export type ReputationStatus = "active" | "quarantined" | "expelled";

/** Whether the node may take new work now. Quarantine ends on its own; expulsion needs an operator. */
export function statusOf(state: ReputationState, now: number): ReputationStatus {
  if (state.expelledAt !== null) return "expelled";
  if (state.quarantinedUntil !== null && state.quarantinedUntil > now) return "quarantined";
  return "active";
}

/**
 * Quarantines the node (mutating `state`), or expels it when this is one quarantine too many
 * within the expulsion window. Every offence counts, even one during a quarantine, so a node that
 * keeps failing while cooling down still reaches expulsion.
 */
export function quarantine(
  state: ReputationState,
  now: number,
  reason: string,
  policy: ReputationPolicy,
): void {
  if (state.expelledAt !== null) return;
  state.recentQuarantines = [...state.recentQuarantines.filter((at) => at > now - policy.expelWindowMs), now];
  state.recentFailures = [];
  state.totals.quarantines += 1;
  state.penaltyReason = reason;
  if (state.recentQuarantines.length >= policy.quarantinesToExpel) {
    state.expelledAt = now;
    state.quarantinedUntil = null;
    state.totals.expulsions += 1;
    state.penaltyReason = `${reason}; ${state.recentQuarantines.length} quarantines within ${Math.round(
      policy.expelWindowMs / 86_400_000,
    )} days`;
    return;
  }
  state.quarantinedUntil = Math.max(state.quarantinedUntil ?? 0, now + policy.quarantineMs);
}

/** Counts a node-attributable failure; quarantines on the `failuresToQuarantine`-th in the window. */
export function countFailure(state: ReputationState, now: number, policy: ReputationPolicy): void {
  state.recentFailures = [...state.recentFailures.filter((at) => at > now - policy.failureWindowMs), now];
  if (state.recentFailures.length >= policy.failuresToQuarantine) {
    quarantine(
      state,
      now,
      `${state.recentFailures.length} attempts lost within ${Math.round(policy.failureWindowMs / 60_000)} minutes`,
      policy,
    );
  }
}

/** An operator's pardon: the node is active again, with a clean penalty record (its score stays). */
export function lift(state: ReputationState): void {
  state.expelledAt = null;
  state.quarantinedUntil = null;
  state.recentFailures = [];
  state.recentQuarantines = [];
  state.penaltyReason = null;
  state.totals.lifts += 1;
}

/** Counts a dropped-and-returned connection; quarantines on the `flapsToQuarantine`-th in the window. */
export function countFlap(state: ReputationState, now: number, policy: ReputationPolicy): void {
  state.recentFlaps = [...(state.recentFlaps ?? []).filter((at) => at > now - policy.failureWindowMs), now];
  if (state.recentFlaps.length >= policy.flapsToQuarantine) {
    quarantine(
      state,
      now,
      `its connection dropped ${state.recentFlaps.length} times within ${Math.round(policy.failureWindowMs / 60_000)} minutes`,
      policy,
    );
    state.recentFlaps = [];
  }
}
