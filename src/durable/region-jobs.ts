import type { FeeConfig } from "../ledger/ledger-config.js";
import type { AttemptOutcome } from "../ledger/settlement.js";
import type { AttemptReport } from "../shared/agent-protocol.js";
import type { JobStatus } from "../shared/job-status.js";
import { AttemptIndex } from "./attempt-index.js";
import { attemptEndEntries, chargeOf } from "./attempt-records.js";
import { type Effects, noEffects } from "./effects.js";
import { failureReason, isTerminalStatus } from "./job-outcome.js";
import type { JobPatch } from "./outbox-entry.js";
import { retryBackoffMs } from "./poll-pacing.js";
import type { AttemptRecord, JobRecord, NodeRecord, StopReason } from "./region-records.js";
import { attemptEndOf } from "./reputation/index.js";

export const JOB_KEY = "job:";

/** A job whose attempt ran out of budget (µUSD) ends with this reason. */
export const BUDGET_EXHAUSTED = "budget_exhausted";

/**
 * The jobs half of a region's state machine: each job's attempts from report to settlement —
 * started, exited, refused, lost, cancelled — and the records every transition owes (storage
 * entries, D1 rows in the outbox). `RegionState` adds the nodes, the scheduler and time; the hooks
 * below are how a job's end reaches them.
 */
export abstract class RegionJobs {
  readonly jobs = new Map<string, JobRecord>();
  protected readonly attempts = new AttemptIndex();
  protected effects: Effects = noEffects();
  /** Seconds an attempt may run: its timeout, or less when its budget runs out first. */
  runLimitSeconds: (job: JobRecord, attempt: AttemptRecord) => number = (job) => job.spec.timeoutSeconds;

  constructor(protected readonly fees: FeeConfig) {}

  /** When each live attempt's lease lapses (memory only). */
  get leases(): Map<string, number> {
    return this.attempts.leases;
  }

  /** Takes what the last steps staged; the shell writes it and wakes the polls. */
  drainEffects(): Effects {
    const out = this.effects;
    this.effects = noEffects();
    return out;
  }

  /** One scheduling pass: freed capacity may place queued jobs. */
  abstract schedule(now: number): void;
  /** Puts a job (back) in the queue. */
  protected abstract enqueue(job: JobRecord): void;
  protected abstract dequeue(jobId: string): void;
  /** Frees what the job's placement holds on its nodes. */
  protected abstract releasePlacement(jobId: string): void;
  protected abstract leaseTtlMs(): number;
  protected abstract nodeOf(nodeId: string): NodeRecord | undefined;

  /** The job and attempt a report is about, if the report's node and fencing number are current. */
  currentAttempt(
    attemptId: string,
    nodeId: string,
    fencing: number,
  ): { job: JobRecord; member: AttemptRecord } | undefined {
    const job = this.jobOfAttempt(attemptId);
    const member = job?.members.find((m) => m.id === attemptId);
    if (
      !job ||
      !member ||
      member.nodeId !== nodeId ||
      member.fencing !== fencing ||
      member.endedAt !== null
    ) {
      return undefined;
    }
    return { job, member };
  }

  renewLease(attemptId: string, now: number): void {
    this.attempts.leases.set(attemptId, now + this.leaseTtlMs());
  }

  started(job: JobRecord, member: AttemptRecord, now: number): void {
    if (member.startedAt !== null) return;
    member.startedAt = now;
    this.effects.nodeEvents.push({
      kind: "ack",
      nodeId: member.nodeId,
      latencyMs: now - member.assignedAt,
      at: now,
    });
    if (job.status === "assigned") this.transition(job, "running", null, now, { startedAt: now });
    else this.stageJob(job);
  }

  exited(
    job: JobRecord,
    member: AttemptRecord,
    report: AttemptReport & { type: "exited" },
    now: number,
  ): void {
    if (report.reason === "error" && report.errorKind === "host_policy" && member.startedAt === null) {
      this.refused(job, member, now);
      return;
    }
    const succeeded = report.reason === "completed" && report.exitCode === 0;
    member.endedAt = now;
    member.exitCode = report.exitCode;
    const outcome: AttemptOutcome =
      member.stopping !== null ? "cancelled" : succeeded ? "succeeded" : "failed";
    this.endMember(job, member, outcome, now);
    // A container's own failure is the user's, not the node's: only an agent error counts against it.
    this.effects.nodeEvents.push({
      kind: "attempt",
      nodeId: member.nodeId,
      end: member.stopping !== null ? "cancelled" : attemptEndOf(report),
      at: now,
    });
    if (!isTerminalStatus(job.status)) {
      if (!succeeded && member.stopping === null) {
        const reason = this.budgetStopped(job, member, report)
          ? BUDGET_EXHAUSTED
          : failureReason(report, job.spec.timeoutSeconds);
        this.transition(job, "failed", reason, now, { exitCode: report.exitCode, endedAt: now });
        this.stopMembers(job, "gang_failed");
      } else if (job.members.every((m) => m.endedAt !== null && m.exitCode === 0)) {
        this.transition(job, "succeeded", null, now, { exitCode: 0, endedAt: now });
      }
    }
    this.settleIfDone(job, now);
    this.schedule(now);
  }

  cancel(job: JobRecord, now: number): void {
    const active = job.members.filter((m) => m.endedAt === null);
    this.transition(job, "cancelled", "cancelled by the user", now, { endedAt: now });
    if (active.length === 0) {
      this.dequeue(job.id);
      this.forget(job, now);
      return;
    }
    this.stopMembers(job, "cancelled");
  }

  /**
   * A node's host policy refused the job's image: nothing ran and no one is at fault, so the job
   * is placed again at once, elsewhere, without counting as a retry.
   */
  private refused(job: JobRecord, member: AttemptRecord, now: number): void {
    this.effects.nodeEvents.push({ kind: "attempt", nodeId: member.nodeId, end: "returned", at: now });
    if (isTerminalStatus(job.status)) {
      member.endedAt = now;
      this.endMember(job, member, "returned", now);
      this.settleIfDone(job, now);
      return;
    }
    this.retireMembers(job, "returned", now);
    job.excludedNodes.push(member.nodeId);
    job.attempts = Math.max(0, job.attempts - 1);
    this.transition(
      job,
      "queued",
      `node ${member.nodeId}'s host policy refused the image; placing the job elsewhere`,
      now,
      { nodeId: null, attemptId: null, assignedAt: null, startedAt: null },
      member,
    );
    this.enqueue(job);
    this.schedule(now);
  }

  /** A member's lease lapsed: its node went silent. */
  protected lapse(job: JobRecord, member: AttemptRecord, now: number): void {
    this.effects.nodeEvents.push({ kind: "attempt", nodeId: member.nodeId, end: "lost", at: now });
    if (member.stopping !== null || isTerminalStatus(job.status)) {
      // Already stopping (cancelled, or a peer failed): it just never said it exited.
      member.endedAt = now;
      this.endMember(job, member, "lost", now);
      this.settleIfDone(job, now);
      return;
    }
    // The whole placement is lost: a gang cannot go on with a member missing. The event names the
    // attempt whose node went silent.
    this.retireMembers(job, "lost", now);
    const retry = job.attempts <= job.spec.maxRetries;
    this.transition(
      job,
      "lost",
      `node ${member.nodeId} went silent; the attempt's lease expired`,
      now,
      { endedAt: retry ? null : now },
      member,
    );
    if (!retry) {
      this.forget(job, now);
      return;
    }
    job.excludedNodes.push(member.nodeId);
    const backoff = retryBackoffMs(job.attempts);
    job.retryAt = now + backoff;
    this.transition(
      job,
      "queued",
      `retrying in ${Math.round(backoff / 1000)} s after attempt ${job.attempts} was lost`,
      now,
      { nodeId: null, attemptId: null, assignedAt: null, startedAt: null },
    );
  }

  /** Ends every active member at once (lost or returned): nothing is charged, the nodes are freed. */
  protected retireMembers(job: JobRecord, outcome: "lost" | "returned", now: number): void {
    for (const member of job.members) {
      if (member.endedAt !== null) continue;
      member.endedAt = now;
      this.endMember(job, member, outcome, now);
      // A peer still running the retired placement is told to stop at its next poll.
      this.effects.wake.add(member.nodeId);
    }
    this.releasePlacement(job.id);
    job.members = [];
  }

  private stopMembers(job: JobRecord, reason: StopReason): void {
    for (const member of job.members) {
      if (member.endedAt !== null) continue;
      member.stopping = reason;
      this.effects.wake.add(member.nodeId);
    }
    this.stageJob(job);
  }

  /** Records an ended member: its D1 row, its settlement, and its node no longer holding it. */
  private endMember(job: JobRecord, member: AttemptRecord, outcome: AttemptOutcome, now: number): void {
    // What the settlement charges, so the next attempt's run limit sees what the budget has left.
    job.spentMicros += chargeOf(job, member, outcome, now);
    this.attempts.remove(job.id, member);
    this.effects.outbox.push(
      ...attemptEndEntries(job, member, outcome, now, this.nodeOf(member.nodeId), this.fees),
    );
    this.stageJob(job);
  }

  /** Once no member runs, the reservation is freed; a finished job then leaves the region. */
  private settleIfDone(job: JobRecord, now: number): void {
    if (job.members.some((m) => m.endedAt === null)) return;
    this.releasePlacement(job.id);
    if (isTerminalStatus(job.status)) this.forget(job, now);
  }

  private budgetStopped(
    job: JobRecord,
    member: AttemptRecord,
    report: AttemptReport & { type: "exited" },
  ): boolean {
    return report.reason === "timeout" && this.runLimitSeconds(job, member) < job.spec.timeoutSeconds;
  }

  protected transition(
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
    this.stageJob(job);
    const first = about;
    this.effects.outbox.push({
      kind: "transition",
      jobId: job.id,
      seq: job.seq,
      status,
      reason,
      attemptId: first?.id ?? null,
      nodeId: first?.nodeId ?? null,
      at: now,
      patch,
    });
  }

  protected stageJob(job: JobRecord): void {
    if (!this.jobs.has(job.id)) return;
    this.effects.deletes.delete(JOB_KEY + job.id);
    this.effects.puts.set(JOB_KEY + job.id, job);
  }

  /** Drops an ended job from the region, and gives back what its hold did not spend. */
  private forget(job: JobRecord, now: number): void {
    this.effects.outbox.push({ kind: "release", accountId: job.accountId, jobId: job.id, at: now });
    for (const member of job.members) this.attempts.remove(job.id, member);
    this.jobs.delete(job.id);
    this.effects.puts.delete(JOB_KEY + job.id);
    this.effects.deletes.add(JOB_KEY + job.id);
  }

  /** The jobs with an attempt on this node now, for its provider. */
  jobsOnNode(nodeId: string): { jobId: string; attemptId: string; status: JobStatus }[] {
    const out: { jobId: string; attemptId: string; status: JobStatus }[] = [];
    for (const jobId of this.attempts.jobIdsOn(nodeId)) {
      const job = this.jobs.get(jobId);
      const member = job?.members.find((m) => m.nodeId === nodeId && m.endedAt === null);
      if (job && member) out.push({ jobId, attemptId: member.id, status: job.status });
    }
    return out;
  }

  jobOfAttempt(attemptId: string): JobRecord | undefined {
    const jobId = this.attempts.jobIdOf(attemptId);
    return jobId === undefined ? undefined : this.jobs.get(jobId);
  }
}
