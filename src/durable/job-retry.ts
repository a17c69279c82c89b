import type { JobBook } from "./job-book.js";
import { retryBackoffMs } from "./poll-pacing.js";
import type { AttemptRecord, JobRecord } from "./region-records.js";

/**
 * How long a job whose attempt ended by its node's own fault (its engine down, its disk full)
 * stays off that node even when no other node can take it: long enough for a restarted engine
 * to be back, short enough that a region of one node does not keep the job waiting for long.
 */
export const NODE_FAULT_AVOID_MS = 30_000;

/** Whether the job may be placed once more: placements that ended in a pause do not count. */
export function retriesLeft(job: JobRecord): boolean {
  return job.attempts - (job.pauses ?? 0) <= job.spec.maxRetries;
}

/**
 * Queues a job again whose placement ended by no fault of its own (its node went silent, or failed
 * the attempt itself): it avoids `nodeId` while another node can take it (see
 * lost-node-avoidance.ts), and after its first retry it waits a backoff. `after` says why, for
 * its events (`after attempt 2 was lost`), and the event names `about` when given. The caller has
 * retired the placement's members.
 */
export function placeAgain(
  book: JobBook,
  job: JobRecord,
  nodeId: string,
  after: string,
  now: number,
  about?: AttemptRecord,
): void {
  job.avoidedNodes = [...new Set([...(job.avoidedNodes ?? []), nodeId])];
  const backoff = retryBackoffMs(job.attempts);
  const requeued = { nodeId: null, attemptId: null, assignedAt: null, startedAt: null };
  if (backoff === 0) {
    book.transition(job, "queued", `placing the job again ${after}`, now, requeued, about);
    book.enqueue(job);
    return;
  }
  job.retryAt = now + backoff;
  job.retryAfter = after;
  book.transition(
    job,
    "queued",
    `retrying in ${Math.round(backoff / 1000)} s ${after}`,
    now,
    requeued,
    about,
  );
}

/** A queued job stops avoiding the nodes that lost it: only they can take it now. */
export function liftAvoidance(book: JobBook, job: JobRecord, now: number): void {
  const avoided = job.avoidedNodes ?? [];
  job.avoidedNodes = [];
  delete job.avoidUntil;
  book.dequeue(job.id);
  book.transition(
    job,
    "queued",
    `no other node can take the job now; trying again on ${avoided.join(", ")}, where an earlier attempt ended by no fault of the job's`,
    now,
    {},
  );
  book.enqueue(job);
}
