import type { AttemptReport } from "../shared/agent-protocol.js";
import type { JobStatus } from "../shared/job-status.js";
import { isUserStartError } from "../shared/start-errors.js";
import type { AttemptRecord } from "./region-records.js";
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
