import type { AttemptReport } from "../shared/agent-protocol.js";
import { newId } from "../shared/ids.js";
import { attemptStartEntry } from "./attempt-records.js";
import type { Staging } from "./effects.js";
import { type Handback, handbackOf } from "./handback.js";
import type { JobBook } from "./job-book.js";
import { exitOutcome, failureReason, isTerminalStatus } from "./job-outcome.js";
import { JobPauses } from "./job-pause.js";
import { liftAvoidance, NODE_FAULT_AVOID_MS, placeAgain, retriesLeft } from "./job-retry.js";
import type { NodeLoss } from "./node-loss.js";
import type { AttemptRecord, JobRecord, StopReason } from "./region-records.js";
import { attemptEndOf } from "./reputation/index.js";
import type { RunLimit } from "./run-limits.js";
import type { Placement } from "./scheduler/index.js";

/** A job whose attempt ran out of budget (µUSD) ends with this reason. */
export const BUDGET_EXHAUSTED = "budget_exhausted";

export interface RegionJobsParts {
  book: JobBook;
  staging: Staging;
  runLimit: RunLimit;
  /** How long a lease granted now lasts (it stretches as the region grows). */
  leaseTtlMs: () => number;
}

/**
 * The jobs half of a region's state machine: each job from submission through its placements and
 * attempts — started, exited, refused, lost, cancelled — to its end. Every transition is recorded
 * through the job book; freed capacity asks the state for a scheduling pass through the staging.
 */
export class RegionJobs {
  /** Pause and resume (job-pause.ts): a paused job stays here, its members stopped. */
  readonly pauses: JobPauses;

  constructor(private readonly parts: RegionJobsParts) {
    this.pauses = new JobPauses({ book: parts.book, staging: parts.staging });
  }

  private get book(): JobBook {
    return this.parts.book;
  }

  submit(job: JobRecord): boolean {
    if (this.book.jobs.has(job.id)) return false;
    this.book.add(job);
    this.book.enqueue(job);
    return true;
  }

  /** A placement the scheduler made: one attempt per node, each with its own lease and fencing number. */
  place(job: JobRecord, placement: Placement, now: number): void {
    job.attempts += 1;
    job.members = placement.nodes.map((placed) => ({
      id: newId("att", now),
      nodeId: placed.nodeId,
      rank: placed.rank,
      fencing: this.book.nextFencing(),
      gpuUuids: placed.gpuUuids,
      cpus: placed.allocation.cpuMilli / 1000,
      memoryMib: placed.allocation.memoryMib,
      pricePerGpuHourMicros: placed.pricePerGpuHourMicros,
      ...(placed.pricePerVcpuHourMicros === undefined
        ? {}
        : { pricePerVcpuHourMicros: placed.pricePerVcpuHourMicros }),
      assignedAt: now,
      startedAt: null,
      endedAt: null,
      exitCode: null,
      stopping: null,
    }));
    for (const member of job.members) {
      this.book.attempts.add(job.id, member, now + this.parts.leaseTtlMs());
      this.parts.staging.record(attemptStartEntry(job, member, now));
      this.parts.staging.wake(member.nodeId);
    }
    const first = job.members[0];
    this.book.transition(job, "assigned", null, now, {
      nodeId: first?.nodeId ?? null,
      attemptId: first?.id ?? null,
      attempts: job.attempts,
      assignedAt: now,
      startedAt: null,
    });
  }

  renewLease(attemptId: string, now: number): void {
    this.book.attempts.leases.set(attemptId, now + this.parts.leaseTtlMs());
  }

  started(
    job: JobRecord,
    member: AttemptRecord,
    now: number,
    report?: AttemptReport & { type: "started" },
  ): void {
    if (member.startedAt !== null) return;
    // The start time is the region's clock, not the agent's `at`: billing never takes its word.
    member.startedAt = now;
    if (report) {
      member.containerId = report.containerId;
      if (report.imageDigest) member.imageDigest = report.imageDigest;
    }
    this.parts.staging.event({
      kind: "ack",
      nodeId: member.nodeId,
      latencyMs: now - member.assignedAt,
      at: now,
    });
    if (job.status === "assigned") this.book.transition(job, "running", null, now, { startedAt: now });
    else this.book.stage(job);
  }

  exited(
    job: JobRecord,
    member: AttemptRecord,
    report: AttemptReport & { type: "exited" },
    now: number,
  ): void {
    const handback = member.startedAt === null ? handbackOf(report) : null;
    if (handback !== null) {
      this.handedBack(job, member, handback, now);
      return;
    }
    if (report.errorKind === "node_shutdown" && member.stopping === null && !isTerminalStatus(job.status)) {
      this.interrupted(job, member, now);
      return;
    }
    const succeeded = report.reason === "completed" && report.exitCode === 0;
    member.endedAt = now;
    member.exitCode = report.exitCode;
    if (report.reason === "error") member.errorKind = report.errorKind ?? "runtime";
    const outcome = exitOutcome(member, report);
    this.book.endMember(job, member, outcome, now);
    // A container's own failure is the user's, not the node's: only an agent error counts against it.
    this.parts.staging.event({
      kind: "attempt",
      nodeId: member.nodeId,
      end: member.stopping !== null ? "cancelled" : attemptEndOf(report),
      at: now,
    });
    if (outcome === "node_fault" && !isTerminalStatus(job.status) && retriesLeft(job)) {
      this.faulted(job, member, report, now);
      return;
    }
    // A member stopped for a pause neither fails nor completes its job (settleIfDone pauses it).
    if (!isTerminalStatus(job.status) && member.stopping !== "paused") {
      if (!succeeded && member.stopping === null) {
        const why = failureReason(report, job.spec.timeoutSeconds);
        const reason = this.budgetStopped(job, member, report)
          ? BUDGET_EXHAUSTED
          : outcome === "node_fault"
            ? `${why} (the node's fault, on attempt ${job.attempts}: no retries left)`
            : why;
        this.book.transition(job, "failed", reason, now, { exitCode: report.exitCode, endedAt: now });
        this.stopMembers(job, "gang_failed");
      } else if (job.members.every((m) => m.endedAt !== null && m.exitCode === 0)) {
        this.book.transition(job, "succeeded", null, now, { exitCode: 0, endedAt: now });
      }
    }
    this.settleIfDone(job, now);
  }

  cancel(job: JobRecord, now: number): void {
    this.pauses.end(job, now);
    const active = job.members.filter((m) => m.endedAt === null);
    this.book.transition(job, "cancelled", "cancelled by the user", now, { endedAt: now });
    if (active.length === 0) {
      this.book.dequeue(job.id);
      this.book.forget(job, now);
      return;
    }
    this.stopMembers(job, "cancelled");
  }

  /**
   * The node handed the attempt back unstarted: nothing ran and no one is at fault, so the job is
   * placed again at once without counting as a retry. Kept off the node for good only when the node
   * refuses the job itself (its host policy); when it only could not take it now (its engine did
   * not answer, its window closed) the job avoids it while another node can take it, and goes back
   * to it once it takes work again (lost-node-avoidance.ts). The event says the node's own reason.
   */
  private handedBack(job: JobRecord, member: AttemptRecord, handback: Handback, now: number): void {
    this.parts.staging.event({ kind: "attempt", nodeId: member.nodeId, end: "returned", at: now });
    if (isTerminalStatus(job.status)) {
      member.endedAt = now;
      this.book.endMember(job, member, "returned", now);
      this.settleIfDone(job, now);
      return;
    }
    this.retireMembers(job, "returned", now);
    const nodeId = member.nodeId;
    let next: string;
    if (handback.kind === "refused") {
      job.excludedNodes = [...new Set([...job.excludedNodes, nodeId])];
      next = "kept off it, placing the job elsewhere";
    } else {
      job.avoidedNodes = [...new Set([...(job.avoidedNodes ?? []), nodeId])];
      next =
        "placing the job again: elsewhere while another node can take it, else back on this one once it takes work";
    }
    job.attempts = Math.max(0, job.attempts - 1);
    this.book.transition(
      job,
      "queued",
      `node ${nodeId} handed the attempt back unstarted (${handback.why}); ${next}`,
      now,
      { nodeId: null, attemptId: null, assignedAt: null, startedAt: null, attempts: job.attempts },
      member,
    );
    this.book.enqueue(job);
  }

  /**
   * The node's agent shut down and stopped the attempt, saying so (Ctrl-C, an upgrade): the job is
   * the node's to give back, not the user's failure. It is placed again at once — no lease to wait
   * out, no backoff, no retry spent, nothing charged — and not kept off the node, which is gone
   * for now anyway and welcome when it returns.
   */
  private interrupted(job: JobRecord, member: AttemptRecord, now: number): void {
    this.parts.staging.event({ kind: "attempt", nodeId: member.nodeId, end: "returned", at: now });
    this.retireMembers(job, "returned", now);
    job.attempts = Math.max(0, job.attempts - 1);
    this.book.transition(
      job,
      "queued",
      `node ${member.nodeId} shut down and stopped the attempt; placing the job again`,
      now,
      { nodeId: null, attemptId: null, assignedAt: null, startedAt: null, attempts: job.attempts },
      member,
    );
    this.book.enqueue(job);
  }

  /**
   * The node failed the attempt itself (its engine stopped, its disk filled): not the user's
   * failure, so nothing is charged and the job is placed again, spending a retry, on another node
   * while one can take it; only after `NODE_FAULT_AVOID_MS` back on this one. A gang's peers are
   * retired with it. Called with retries left; without, the job fails as before.
   */
  private faulted(
    job: JobRecord,
    member: AttemptRecord,
    report: AttemptReport & { type: "exited" },
    now: number,
  ): void {
    this.retireMembers(job, "lost", now);
    job.avoidUntil = now + NODE_FAULT_AVOID_MS;
    const why = failureReason(report, job.spec.timeoutSeconds);
    const after = `after node ${member.nodeId} failed attempt ${job.attempts} by its own fault (${why})`;
    placeAgain(this.book, job, member.nodeId, after, now, member);
  }

  /**
   * A member's node is gone, or its lease lapsed: `loss` says how it was noticed, the incident it
   * belongs to, and whether the node is to blame.
   */
  lapse(job: JobRecord, member: AttemptRecord, now: number, loss: NodeLoss): void {
    this.parts.staging.event({
      kind: "attempt",
      nodeId: member.nodeId,
      end: loss.excused ? "returned" : "lost",
      incident: loss.incident,
      at: now,
    });
    if (member.stopping !== null || isTerminalStatus(job.status)) {
      // Already stopping (cancelled, or a peer failed): it just never said it exited.
      member.endedAt = now;
      this.book.endMember(job, member, "lost", now);
      this.settleIfDone(job, now);
      return;
    }
    // The whole placement is lost: a gang cannot go on with a member missing. The event names the
    // attempt whose node went silent. A loss the region caused spends none of the job's retries.
    this.retireMembers(job, "lost", now);
    if (loss.excused) job.attempts = Math.max(0, job.attempts - 1);
    const retry = retriesLeft(job);
    this.book.transition(
      job,
      "lost",
      loss.why ?? `node ${member.nodeId} went silent; the attempt's lease expired`,
      now,
      { endedAt: retry ? null : now },
      member,
    );
    if (!retry) {
      this.book.forget(job, now);
      return;
    }
    placeAgain(this.book, job, member.nodeId, `after attempt ${job.attempts} was lost`, now);
  }

  /** Every live attempt on a node that is gone is lost now, in one incident, each job told why. */
  loseNode(nodeId: string, loss: NodeLoss, now: number): void {
    for (const jobId of this.book.attempts.jobIdsOn(nodeId)) {
      const job = this.book.jobs.get(jobId);
      const member = job?.members.find((m) => m.nodeId === nodeId && m.endedAt === null);
      if (job && member) this.lapse(job, member, now, loss);
    }
  }

  /** A queued job stops avoiding the nodes that lost it: only they can take it now. */
  liftAvoidance(job: JobRecord, now: number): void {
    liftAvoidance(this.book, job, now);
  }

  /**
   * Lost attempts whose leases lapsed, and retries whose backoff is over, as time passes. `lossOf`
   * names the incident each node's lapsed leases belong to.
   */
  sweep(now: number, lossOf: (nodeId: string) => NodeLoss): void {
    this.pauses.expire(now);
    for (const job of [...this.book.jobs.values()]) {
      if (job.status === "queued" && job.retryAt !== null && job.retryAt <= now) {
        job.retryAt = null;
        delete job.retryAfter;
        this.book.stage(job);
        this.book.enqueue(job);
        continue;
      }
      for (const member of job.members) {
        if (member.endedAt !== null) continue;
        const expiresAt = this.book.attempts.leases.get(member.id) ?? now + this.parts.leaseTtlMs();
        this.book.attempts.leases.set(member.id, expiresAt);
        if (expiresAt <= now) {
          this.lapse(job, member, now, lossOf(member.nodeId));
          break;
        }
      }
    }
  }

  /**
   * A draining node gives back the assignments it never took up; they are placed again at once,
   * with no retry spent.
   */
  returnUntaken(nodeId: string, taken: ReadonlySet<string>, now: number): void {
    for (const jobId of this.book.attempts.jobIdsOn(nodeId)) {
      const job = this.book.jobs.get(jobId);
      if (job?.status !== "assigned") continue;
      const member = job.members.find((m) => m.nodeId === nodeId && m.endedAt === null);
      if (!member || member.startedAt !== null || taken.has(member.id)) continue;
      this.retireMembers(job, "returned", now);
      job.attempts = Math.max(0, job.attempts - 1);
      this.book.transition(job, "queued", `node ${nodeId} is draining; placing the job again`, now, {
        nodeId: null,
        attemptId: null,
        assignedAt: null,
        attempts: job.attempts,
      });
      this.book.enqueue(job);
    }
  }

  /** Ends every active member at once (lost or returned): nothing is charged, the nodes are freed. */
  private retireMembers(job: JobRecord, outcome: "lost" | "returned", now: number): void {
    for (const member of job.members) {
      if (member.endedAt !== null) continue;
      member.endedAt = now;
      this.book.endMember(job, member, outcome, now);
      // A peer still running the retired placement is told to stop at its next poll.
      this.parts.staging.wake(member.nodeId);
    }
    this.book.release(job.id);
    job.members = [];
  }

  private stopMembers(job: JobRecord, reason: StopReason): void {
    for (const member of job.members) {
      if (member.endedAt !== null) continue;
      member.stopping = reason;
      this.parts.staging.wake(member.nodeId);
    }
    this.book.stage(job);
  }

  /** Once no member runs, the reservation is freed; a finished job then leaves the region. */
  private settleIfDone(job: JobRecord, now: number): void {
    if (job.members.some((m) => m.endedAt === null)) return;
    this.book.release(job.id);
    if (isTerminalStatus(job.status)) this.book.forget(job, now);
    else if (this.pauses.pausing(job)) this.pauses.stopped(job, now);
  }

  private budgetStopped(
    job: JobRecord,
    member: AttemptRecord,
    report: AttemptReport & { type: "exited" },
  ): boolean {
    return report.reason === "timeout" && this.parts.runLimit(job, member) < job.spec.timeoutSeconds;
  }
}
