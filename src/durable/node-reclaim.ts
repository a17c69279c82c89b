import type { Assignment } from "../shared/agent-protocol.js";
import { assignmentFor, type HandoverParts } from "./node-work.js";

/** What a restarted agent is told about the attempt containers it found. */
export interface ReclaimAnswer {
  keep: { assignment: Assignment; started: boolean }[];
  drop: { attemptId: string; reason: "superseded" | "unknown_attempt" }[];
}

/**
 * A restarted agent names the attempt containers it found. Those still this node's (its member,
 * not ended) keep their lease, renewed now, and are handed back with their current fencing number
 * and the run time left; the rest are to be removed. A started attempt of this node whose
 * container is not among them is lost now, as one loss of the node (`incident`): nothing runs it
 * any more, and waiting out its lease would only delay its retry.
 */
export function reclaimAttempts(
  parts: HandoverParts,
  nodeId: string,
  found: readonly { attemptId: string; running: boolean }[],
  incident: string,
  now: number,
): ReclaimAnswer {
  const { book, lifecycle } = parts;
  const answer: ReclaimAnswer = { keep: [], drop: [] };
  const listed = new Set(found.map((entry) => entry.attemptId));
  for (const entry of found) {
    const job = book.jobOfAttempt(entry.attemptId);
    const member = job?.members.find((m) => m.id === entry.attemptId);
    if (!job || !member) {
      answer.drop.push({ attemptId: entry.attemptId, reason: "unknown_attempt" });
    } else if (member.nodeId !== nodeId) {
      answer.drop.push({ attemptId: entry.attemptId, reason: "superseded" });
    } else {
      // Taken up even when its job wants it stopped (cancelled, a peer failed): the next poll
      // says so, and its exit is reported and billed like any other.
      lifecycle.renewLease(member.id, now);
      const limit = parts.runLimit(job, member);
      const ranSeconds = Math.floor((now - (member.startedAt ?? member.assignedAt)) / 1000);
      const left = limit > 0 ? Math.max(1, limit - ranSeconds) : 0;
      answer.keep.push({
        assignment: assignmentFor(parts, job, member, now + parts.leaseTtlMs(), left),
        started: member.startedAt !== null,
      });
    }
  }
  for (const jobId of [...book.attempts.jobIdsOn(nodeId)]) {
    const job = book.jobs.get(jobId);
    const member = job?.members.find((m) => m.nodeId === nodeId && m.endedAt === null);
    if (job && member && member.startedAt !== null && !listed.has(member.id))
      lifecycle.lapse(job, member, now, {
        incident,
        excused: false,
        why: `node ${nodeId} restarted without the attempt's container`,
      });
  }
  return answer;
}
