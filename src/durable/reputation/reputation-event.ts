import type { AttemptReport } from "../../shared/agent-protocol.js";
import { isUserStartError } from "../../shared/start-errors.js";
import type { VerificationOutcome } from "../../shared/verification/messages.js";

/**
 * How an attempt ended, as reputation sees it. Only `lost` (the node went silent past its lease)
 * and `agent_error` (the agent could not run the container) are the node's fault; a container's
 * own non-zero exit or timeout is the user's, and a cancelled or handed-back attempt is no one's —
 * as is one lost only because the region itself restarted before the node could come back.
 */
export type AttemptEnd =
  | "succeeded"
  | "user_failed"
  | "timed_out"
  | "cancelled"
  | "returned"
  | "lost"
  | "agent_error";

/**
 * What the Region object tells the book. Liveness arrives as transitions, never per heartbeat:
 * `online` when a node registers or polls after being offline, `offline` when the sweep finds it
 * silent past its grace (pass the time it went silent as `now`).
 */
export type ReputationEvent =
  | { type: "online" }
  | { type: "offline" }
  /** Its held connection dropped and it polled again within the reconnect window. */
  | { type: "flap" }
  /**
   * `incident` names one loss of the node (one pass of the region's node-loss check): every
   * attempt lost in it counts towards quarantine once, however many the node held.
   */
  | { type: "attempt"; end: AttemptEnd; incident?: string }
  /** The node reported `started` for an attempt assigned at `assignedAt`. */
  | { type: "acknowledged"; assignedAt: number }
  | { type: "verification"; outcome: VerificationOutcome };

/** How an `exited` report counts. A cancelled job is no one's fault, even if the exit was not 0. */
export function attemptEndOf(report: AttemptReport & { type: "exited" }): AttemptEnd {
  switch (report.reason) {
    case "completed":
      return report.exitCode === 0 ? "succeeded" : "user_failed";
    case "timeout":
      return "timed_out";
    case "cancelled":
      return "cancelled";
    case "error":
      // An image that cannot be pulled is the user's; a host's declared policy is no one's fault.
      if (report.errorKind === "image_pull" || report.errorKind === "input" || report.errorKind === "spec")
        return "user_failed";
      // An agent that reports the engine refusing the job's own image or command as its own fault.
      if ((report.errorKind ?? "runtime") === "runtime" && isUserStartError(report.message))
        return "user_failed";
      if (report.errorKind === "host_policy" || report.errorKind === "unavailable") return "returned";
      return "agent_error";
  }
}
