import type { FeeConfig } from "../ledger/ledger-config.js";
import type { AttemptOutcome } from "../ledger/settlement.js";
import type { JobStatus } from "../shared/job-status.js";
import { AttemptIndex } from "./attempt-index.js";
import { attemptEndEntries, chargeOf } from "./attempt-records.js";
import type { Staging } from "./effects.js";
import { allocationOf } from "./job-outcome.js";
import { keptOff } from "./lost-node-avoidance.js";
import type { JobPatch } from "./outbox-entry.js";
import type { AttemptRecord, JobRecord, NodeRecord } from "./region-records.js";
import { demandFromSpec, type Scheduler, specPriority } from "./scheduler/index.js";
import { STORAGE_KEYS } from "./storage-keys.js";

export interface JobBookParts {
  scheduler: Scheduler<string>;
  staging: Staging;
  fees: FeeConfig;
  nodeOf: (nodeId: string) => NodeRecord | undefined;
}

/**
 * The region's job records and what each change of them owes: the storage entry, the D1 rows in
 * the outbox (the Region object is the only writer of a job's row after it is admitted), the
 * queue and the reservations in the scheduler. The lifecycle (`RegionJobs`) decides; this records.
 */
export class JobBook {
  readonly jobs = new Map<string, JobRecord>();
  readonly attempts = new AttemptIndex();
  private fencing: number;

  constructor(
    private readonly parts: JobBookParts,
    restored: { fencing: number; jobs: Iterable<JobRecord>; leaseUntil: number },
  ) {
    this.fencing = restored.fencing;
    for (const job of restored.jobs) {
      this.jobs.set(job.id, job);
      const active = job.members.filter((member) => member.endedAt === null);
      for (const member of active) this.attempts.add(job.id, member, restored.leaseUntil);
      if (active.length > 0) {
        parts.scheduler.inventory.reserve(job.id, job.members.map(allocationOf), {
          accountId: job.accountId,
        });
      } else if (job.status === "queued" && job.retryAt === null) {
        this.enqueue(job);
      }
    }
  }

  /** The next fencing number: every attempt gets one, and they only grow. */
  nextFencing(): number {
    this.fencing += 1;
    this.parts.staging.put(STORAGE_KEYS.fencing, this.fencing);
    return this.fencing;
  }

  add(job: JobRecord): void {
    this.jobs.set(job.id, job);
    this.stage(job);
  }

  stage(job: JobRecord): void {
    if (this.jobs.has(job.id)) this.parts.staging.put(STORAGE_KEYS.job + job.id, job);
  }

  /** A new status: the job's row and an event in D1, in order (`seq`). */
  transition(
    job: JobRecord,
    status: JobStatus,
    reason: string | null,
    now: number,
    patch: JobPatch,
    // The attempt the event is about: the placement's first member, or one already retired.
    about: AttemptRecord | undefined = job.members[0],
  ): void {
    job.status = status;
    job.seq += 1;
    this.stage(job);
    this.parts.staging.record({
      kind: "transition",
      jobId: job.id,
      seq: job.seq,
      status,
      reason,
      attemptId: about?.id ?? null,
      nodeId: about?.nodeId ?? null,
      at: now,
      patch,
    });
  }

  /** Records an ended member: its D1 row, its settlement, and its node no longer holding it. */
  endMember(job: JobRecord, member: AttemptRecord, outcome: AttemptOutcome, now: number): void {
    // What the settlement charges, so the next attempt's run limit sees what the budget has left.
    job.spentMicros += chargeOf(job, member, outcome, now);
    this.attempts.remove(job.id, member);
    this.parts.staging.record(
      ...attemptEndEntries(job, member, outcome, now, this.parts.nodeOf(member.nodeId), this.parts.fees),
    );
    this.stage(job);
  }

  /** Drops an ended job from the region, and gives back what its hold did not spend. */
  forget(job: JobRecord, now: number): void {
    this.parts.staging.record({ kind: "release", accountId: job.accountId, jobId: job.id, at: now });
    for (const member of job.members) this.attempts.remove(job.id, member);
    this.jobs.delete(job.id);
    this.parts.staging.delete(STORAGE_KEYS.job + job.id);
  }

  /** Puts a job (back) in the scheduler's queue. */
  enqueue(job: JobRecord): void {
    this.parts.scheduler.enqueue({
      id: job.id,
      accountId: job.accountId,
      priority: specPriority(job.spec),
      demand: demandFromSpec(job.spec, keptOff(job)),
      maxRunMs: job.spec.timeoutSeconds * 1000,
      enqueuedAt: job.createdAt,
      payload: job.id,
    });
    this.parts.staging.schedulePass = true;
  }

  dequeue(jobId: string): void {
    this.parts.scheduler.queue.remove(jobId);
  }

  /** Frees what the job's placement holds on its nodes. */
  release(jobId: string): void {
    this.parts.scheduler.inventory.release(jobId);
    this.parts.staging.schedulePass = true;
  }

  jobOfAttempt(attemptId: string): JobRecord | undefined {
    const jobId = this.attempts.jobIdOf(attemptId);
    return jobId === undefined ? undefined : this.jobs.get(jobId);
  }
}
