import type { AttemptOutcome } from "../ledger/settlement.js";
import type { AttemptReport } from "../shared/agent-protocol.js";
import type { JobStatus } from "../shared/job-status.js";
import { isUserStartError } from "../shared/start-errors.js";
import type { AttemptRecord } from "./region-records.js";
import { attemptEndOf } from "./reputation/index.js";
import type { NodeAllocation } from "./scheduler/index.js";

export function isTerminalStatus(status: JobStatus): boolean {
  return status === "succeeded" || status === "failed" || status === "cancelled" || status === "lost";
}

/** The reason a failed attempt's job shows the user. */
export function failureReason(report: AttemptReport & { type: "exited" }, timeoutSeconds: number): string {
  switch (report.reason) {
    case "timeout":
      return `timed out after ${timeoutSeconds} s`;
    case "error":
      if (report.errorKind === "spec" || isUserStartError(report.message))
        return `${report.message ?? "the container could not start"} (the job's own image, command or config: not retried)`;
      return report.message ?? "the agent could not run the container";
    case "cancelled":
      return "stopped on the node";
    case "completed":
      return `exited with code ${report.exitCode ?? "unknown"}`;
  }
}

/** What an attempt holds on its node, as the scheduler's inventory reserves it. */
export function allocationOf(member: AttemptRecord): NodeAllocation {
  return {
    nodeId: member.nodeId,
    gpus: member.gpuUuids.map((uuid) => ({ uuid, milli: 1000 })),
    cpuMilli: Math.round(member.cpus * 1000),
    memoryMib: member.memoryMib,
  };
}

/**
 * What an exited attempt comes to for the ledger: cancelled when the region had asked it to stop,
 * succeeded on a clean exit 0, the node's fault when the agent itself erred (neither charged nor
 * paid), otherwise the container's own failure (the user's).
 */
export function exitOutcome(
  member: AttemptRecord,
  report: AttemptReport & { type: "exited" },
): AttemptOutcome {
  if (member.stopping !== null) return "cancelled";
  if (report.reason === "completed" && report.exitCode === 0) return "succeeded";
  return attemptEndOf(report) === "agent_error" ? "node_fault" : "failed";
}
