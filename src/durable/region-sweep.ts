import { absenceReason } from "./absence-reason.js";
import type { JobBook } from "./job-book.js";
import type { OwedAnswers } from "./owed-answers.js";
import type { RegionJobs } from "./region-jobs.js";
import type { RegionNodes } from "./region-nodes.js";

/** What the region's timed work reads and changes in its state. */
export interface SweepParts {
  nodeBook: RegionNodes;
  book: JobBook;
  lifecycle: RegionJobs;
  owed: OwedAnswers;
  /** How often the sweep runs while anything is live (the lease policy's timing). */
  sweepMs: number;
}

/**
 * The alarm's work on nodes and attempts: re-indexes nodes whose standing changed, parks silent
 * ones, renews the leases of nodes the region owes an answer, loses the attempts of nodes gone
 * and expires lapsed leases. `pass` is the node-loss incident key (see RegionState.lossPass).
 * The caller settles afterwards.
 */
export function sweepNodes(parts: SweepParts, pass: string, now: number): void {
  const { nodeBook, lifecycle } = parts;
  // Nodes whose standing changed (a quarantine began or ended) are indexed again; the others are not touched.
  for (const nodeId of nodeBook.records.keys())
    if (nodeBook.standingChanged(nodeId, now)) nodeBook.refresh(nodeId, now);
  nodeBook.parkSilent(now);
  // A node waiting for the region's answer cannot renew its leases: they hold until it has it.
  for (const nodeId of parts.owed.nodes())
    for (const id of activeAttempts(parts.book, nodeId)) lifecycle.renewLease(id, now);
  // The node-loss pass. A node gone (its dropped connection did not return, or silent past its
  // rhythm) loses its attempts now, not when their leases run out; whatever a node loses in
  // this pass, by its absence or by lapsed leases, is one incident of that node.
  const { grace } = nodeBook;
  for (const nodeId of parts.book.attempts.nodesWithAttempts()) {
    const absence = nodeBook.absence(nodeId, now);
    if (absence) lifecycle.loseNode(nodeId, grace.loss(nodeId, pass, absenceReason(absence)), now);
  }
  lifecycle.sweep(now, (nodeId) => grace.loss(nodeId, pass));
}

/** The earliest time the sweep has something to do, or null when nothing is pending. */
export function nextWakeAt(parts: SweepParts, now: number): number | null {
  const { book, nodeBook } = parts;
  // A paused job kept past its time expires at the sweep after it.
  let next: number | null = parts.lifecycle.pauses.nextExpiry();
  let active = false;
  for (const job of book.jobs.values()) {
    if (job.retryAt !== null) next = next === null ? job.retryAt : Math.min(next, job.retryAt);
    // A job kept off a node that failed it may go back to it then (job-retry.ts).
    if (job.avoidUntil !== undefined && job.avoidUntil > now)
      next = next === null ? job.avoidUntil : Math.min(next, job.avoidUntil);
    if (!active && job.members.some((m) => m.endedAt === null)) active = true;
  }
  // While attempts run or any node is live, the sweep watches leases and liveness; one live node
  // is enough to know, so a large quiet region does not walk all of them on every request.
  if (active || nodeBook.anyLive(now)) {
    const at = now + parts.sweepMs;
    next = next === null ? at : Math.min(next, at);
  }
  // Failover does not wait for the next sweep: the alarm wakes when a node holding attempts
  // would be taken for gone.
  for (const nodeId of book.attempts.nodesWithAttempts()) {
    const at = nodeBook.presence.deadline(nodeId, now);
    if (at !== null) next = next === null ? at : Math.min(next, at);
  }
  return next;
}

function* activeAttempts(book: JobBook, nodeId: string): Generator<string> {
  for (const jobId of book.attempts.jobIdsOn(nodeId))
    for (const member of book.jobs.get(jobId)?.members ?? [])
      if (member.nodeId === nodeId && member.endedAt === null) yield member.id;
}
