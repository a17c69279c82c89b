import type { JobRecord } from "./region-records.js";
import { demandFromSpec, type Scheduler } from "./scheduler/index.js";

/**
 * The nodes a job is kept off now: hard ones (a host policy refused its image) and the nodes that
 * lost an attempt of it, which it only avoids (see `liftAvoidance`).
 */
export function keptOff(job: JobRecord): string[] {
  const avoided = job.avoidedNodes ?? [];
  return avoided.length === 0 ? job.excludedNodes : [...new Set([...job.excludedNodes, ...avoided])];
}

/**
 * Queued jobs whose avoidance of nodes that lost them must end now: no node it does not avoid can
 * take the job, and an avoided one can. A job whose only feasible node once lost an attempt runs
 * there again rather than wait forever (after `avoidUntil`, when a node's own fault set it); while
 * another node could take it, it goes there instead.
 * Reserves nothing (the scheduler's `decide`).
 */
export function avoidanceToLift(
  jobs: Iterable<JobRecord>,
  scheduler: Scheduler<string>,
  now: number,
): JobRecord[] {
  const lift: JobRecord[] = [];
  for (const job of jobs) {
    if ((job.avoidedNodes ?? []).length === 0) continue;
    if (job.status !== "queued" || job.retryAt !== null || job.members.length > 0) continue;
    // After a node's own fault the job waits a while before going back to it (job-retry.ts).
    if (job.avoidUntil !== undefined && job.avoidUntil > now) continue;
    if (scheduler.queue.get(job.id) === undefined) continue;
    if (scheduler.decide(demandFromSpec(job.spec, keptOff(job))) !== null) continue;
    if (scheduler.decide(demandFromSpec(job.spec, job.excludedNodes)) === null) continue;
    lift.push(job);
  }
  return lift;
}
