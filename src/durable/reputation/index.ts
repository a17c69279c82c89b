/**
 * Node reputation for the Region object: uptime, attempt success on the node's own failures,
 * acknowledgement latency and verification consistency, exponentially decayed, with quarantine
 * and expulsion. Pure TypeScript with no I/O; the state is plain JSON, one record per node.
 */
export { decayedSpanMs, decayFactor } from "./decay.js";
export type { ReputationStatus } from "./penalties.js";
export { ReputationBook, type ReputationChanges, type ReputationView } from "./reputation-book.js";
export { type AttemptEnd, attemptEndOf, type ReputationEvent } from "./reputation-event.js";
export {
  DEFAULT_REPUTATION_POLICY,
  type ReputationPolicy,
  reputationPolicyOf,
} from "./reputation-policy.js";
export type { ReputationComponents } from "./reputation-score.js";
export type { ReputationState, ReputationTotals } from "./reputation-state.js";
