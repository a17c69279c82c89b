import type { AttemptReport } from "../shared/agent-protocol.js";

/**
 * Why a node handed an attempt back unstarted. `refused`: the node will never run this job (its
 * host policy refuses the image, it cannot serve endpoint replicas), so the job is kept off it for
 * good. `unavailable`: the node could not take it just now (its container engine did not answer,
 * its operating window closed), so the job only avoids it while another node can take it, and
 * goes back to it once it takes work again.
 */
export type Handback = { kind: "refused" | "unavailable"; why: string };

/**
 * What an older agent said when it handed work back for a passing reason under `host_policy`
 * (before `unavailable` existed): its words, so such a node is not excluded for good either.
 */
const PASSING_REASONS: readonly RegExp[] = [
  /container engine .* does not answer, so the attempt was not started/,
  /outside the host's operating windows/,
];

/** The longest part of the agent's message an event repeats. */
const WHY_MAX_CHARS = 300;

/** The handback an `exited` report of an unstarted attempt is, or null when it is none. */
export function handbackOf(report: AttemptReport & { type: "exited" }): Handback | null {
  if (report.reason !== "error") return null;
  if (report.errorKind !== "host_policy" && report.errorKind !== "unavailable") return null;
  const message = report.message?.trim() ?? "";
  const why =
    message === ""
      ? report.errorKind === "unavailable"
        ? "the node could not take it now"
        : "its host policy refused it"
      : message.length > WHY_MAX_CHARS
        ? `${message.slice(0, WHY_MAX_CHARS - 1)}…`
        : message;
  const passing =
    report.errorKind === "unavailable" || PASSING_REASONS.some((pattern) => pattern.test(message));
  return { kind: passing ? "unavailable" : "refused", why };
}
