import type { Assignment, StopOrder } from "../shared/agent-protocol.js";
import { assignmentOf, peerAddress } from "./assignment.js";
import type { JobBook } from "./job-book.js";
import { isTerminalStatus } from "./job-outcome.js";
import type { RegionJobs } from "./region-jobs.js";
import type { AttemptRecord, JobRecord, NodeRecord } from "./region-records.js";
import type { RunLimit } from "./run-limits.js";

/** What handing a node its work reads from the region's state. */
export interface HandoverParts {
  region: string;
  book: JobBook;
  lifecycle: RegionJobs;
  nodeOf: (nodeId: string) => NodeRecord | undefined;
  runLimit: RunLimit;
  leaseTtlMs: () => number;
}

/** An attempt as its node is handed it: with its gang's rendezvous (rank 0's node), lease and run time. */
export function assignmentFor(
  parts: HandoverParts,
  job: JobRecord,
  member: AttemptRecord,
  leaseUntil: number,
  runSeconds: number,
): Assignment {
  const masterId = job.members[0]?.nodeId ?? member.nodeId;
  const master = peerAddress(parts.nodeOf(masterId), masterId);
  return assignmentOf(job, member, parts.region, master, leaseUntil, runSeconds);
}

/** Work waiting for a node: assignments it has not taken up yet, and attempts it must stop. */
export function workFor(
  parts: HandoverParts,
  nodeId: string,
  taken: ReadonlySet<string>,
  now: number,
): { assignments: Assignment[]; stop: StopOrder[] } {
  const { book } = parts;
  const assignments: Assignment[] = [];
  const stop: StopOrder[] = [];
  for (const jobId of book.attempts.jobIdsOn(nodeId)) {
    const job = book.jobs.get(jobId);
    if (!job) continue;
    for (const member of job.members) {
      if (member.nodeId !== nodeId || member.endedAt !== null) continue;
      // A gang member stopped because a peer failed still reports its exit, so it is billed.
      if (member.stopping)
        stop.push({ attemptId: member.id, reason: member.stopping === "paused" ? "paused" : "cancelled" });
      else if (member.startedAt === null && !taken.has(member.id) && !isTerminalStatus(job.status)) {
        const lease = book.attempts.leases.get(member.id) ?? now + parts.leaseTtlMs();
        assignments.push(assignmentFor(parts, job, member, lease, parts.runLimit(job, member)));
      }
    }
  }
  return { assignments, stop };
}
