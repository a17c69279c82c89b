import type { FeeConfig } from "../ledger/ledger-config.js";
import type { AttemptOutcome } from "../ledger/settlement.js";
import type { Assignment, AttemptReport, StopOrder } from "../shared/agent-protocol.js";
import { newId } from "../shared/ids.js";
import type { JobStatus } from "../shared/job-status.js";
import { assignmentOf, peerAddress } from "./assignment.js";
import { AttemptIndex } from "./attempt-index.js";
import { attemptEndEntries, attemptStartEntry, chargeOf } from "./attempt-records.js";
import { type Effects, noEffects } from "./effects.js";
import { allocationOf, failureReason, isTerminalStatus } from "./job-outcome.js";
import type { Timing } from "./lease.js";
import type { JobPatch } from "./outbox-entry.js";
import { type Pacing, pacingFor, retryBackoffMs } from "./poll-pacing.js";
import type { AttemptRecord, JobRecord, NodeRecord, StopReason } from "./region-records.js";
import { attemptEndOf } from "./reputation/index.js";
import {
  demandFromSpec,
  demandUnits,
  nodeFromRecord,
  type Placement,
  Scheduler,
  specPriority,
} from "./scheduler/index.js";

export const NODE_KEY = "node:";
export const JOB_KEY = "job:";
export const FENCING_KEY = "meta:fencing";
export const REGION_KEY = "meta:region";

interface Liveness {
  lastSeenAt: number;
  acceptingWork: boolean;
  rttMs: number | undefined;
}

/** Figures about nodes that other parts of the region keep: reputation, verification, health. */
export interface NodeStanding {
  /** False while a node may not take new work (quarantined, expelled, failed verification). */
  eligible(nodeId: string, now: number): boolean;
  reputation(nodeId: string, now: number): number | undefined;
  verifiedTflops(nodeId: string): number | undefined;
  /** 1 for a healthy node, lower for one running hot or reporting GPU errors. */
  healthFactor(nodeId: string): number;
}

const NEUTRAL_STANDING: NodeStanding = {
  eligible: () => true,
  reputation: () => undefined,
  verifiedTflops: () => undefined,
  healthFactor: () => 1,
};

const FAIR_SHARE_HALF_LIFE_MS = 3_600_000;

/** A job whose attempt ran out of budget (µUSD) ends with this reason. */
export const BUDGET_EXHAUSTED = "budget_exhausted";

/**
 * One region's state machine: nodes, the queue, placements, leases and every job's transitions.
 * Pure: it does no I/O. Each step stages what must be written (storage entries, D1 records in the
 * outbox) and which nodes to wake; the Region Durable Object carries those out before it replies.
 * Liveness and lease expiries live in memory only, so a heartbeat that changes nothing writes
 * nothing.
 */
export class RegionState {
  region = "";
  private fencing = 0;
  readonly nodes = new Map<string, NodeRecord>();
  readonly jobs = new Map<string, JobRecord>();
  private readonly live = new Map<string, Liveness>();
  private readonly attempts = new AttemptIndex();
  /** When each live attempt's lease lapses (memory only). */
  get leases(): Map<string, number> {
    return this.attempts.leases;
  }
  readonly scheduler: Scheduler<string>;
  /** Each account's recently placed work, decayed: the queue's memory for fair share. */
  private readonly recentUse = new Map<string, { units: number; at: number }>();
  private effects: Effects = noEffects();
  standing: NodeStanding = NEUTRAL_STANDING;
  /** Seconds an attempt may run: its timeout, or less when its budget runs out first. */
  runLimitSeconds: (job: JobRecord, attempt: AttemptRecord) => number = (job) => job.spec.timeoutSeconds;

  constructor(
    readonly timing: Timing,
    private readonly fees: FeeConfig,
  ) {
    this.scheduler = new Scheduler<string>({
      clock: { now: () => Date.now() },
      history: (accountId) => this.recentUseOf(accountId, Date.now()),
    });
  }

  /** Takes what the last steps staged; the shell writes it and wakes the polls. */
  drainEffects(): Effects {
    const out = this.effects;
    this.effects = noEffects();
    return out;
  }

  pacing(): Pacing {
    return pacingFor(this.nodes.size, this.timing.pollWaitMs, this.timing.leaseTtlMs, this.timing.graceMs);
  }

  // ---- restoring from storage --------------------------------------------------------------

  restore(
    region: string,
    fencing: number,
    nodes: Iterable<NodeRecord>,
    jobs: Iterable<JobRecord>,
    now: number,
  ): void {
    this.region = region;
    this.fencing = fencing;
    for (const node of nodes) {
      this.nodes.set(node.id, node);
      // Indexed as schedulable so live reservations can be restored onto it, then parked until it polls.
      this.scheduler.inventory.upsertNode(nodeFromRecord(node, { schedulable: true }));
    }
    for (const job of jobs) {
      this.jobs.set(job.id, job);
      const active = job.members.filter((member) => member.endedAt === null);
      for (const member of active) {
        this.attempts.add(job.id, member, now + this.pacing().leaseTtlMs);
      }
      if (active.length > 0) {
        this.scheduler.inventory.reserve(job.id, job.members.map(allocationOf), { accountId: job.accountId });
      } else if (job.status === "queued" && job.retryAt === null) {
        this.enqueue(job);
      }
    }
    for (const node of this.nodes.values()) this.scheduler.inventory.setSchedulable(node.id, false);
  }

  setRegion(region: string): void {
    if (this.region === region) return;
    this.region = region;
    this.effects.puts.set(REGION_KEY, region);
  }

  // ---- nodes -------------------------------------------------------------------------------

  registerNode(node: NodeRecord, now: number): void {
    this.nodes.set(node.id, node);
    this.effects.puts.set(NODE_KEY + node.id, node);
    this.effects.outbox.push({ kind: "node", node, at: now });
    const wasLive = this.isLive(node.id, now);
    this.live.set(node.id, { lastSeenAt: now, acceptingWork: true, rttMs: this.live.get(node.id)?.rttMs });
    if (!wasLive) this.effects.nodeEvents.push({ kind: "online", nodeId: node.id, at: now });
    this.refreshNode(node.id, now);
    this.schedule(now);
  }

  isLive(nodeId: string, now: number): boolean {
    const seen = this.live.get(nodeId);
    return seen !== undefined && now - seen.lastSeenAt <= this.pacing().graceMs;
  }

  acceptingWork(nodeId: string): boolean {
    return this.live.get(nodeId)?.acceptingWork ?? false;
  }

  /** Whether the scheduler's view of a node's eligibility no longer matches its standing. */
  standingChanged(nodeId: string, now: number): boolean {
    const indexed = this.scheduler.inventory.node(nodeId)?.node.schedulable ?? false;
    const wanted =
      this.nodes.get(nodeId)?.runtime !== "none" &&
      this.isLive(nodeId, now) &&
      this.acceptingWork(nodeId) &&
      this.standing.eligible(nodeId, now);
    return indexed !== wanted;
  }

  /** Re-indexes a node in the scheduler with its live facts. */
  refreshNode(nodeId: string, now: number): void {
    const node = this.nodes.get(nodeId);
    if (!node) return;
    const live = this.live.get(nodeId);
    const schedulable =
      this.isLive(nodeId, now) && (live?.acceptingWork ?? false) && this.standing.eligible(nodeId, now);
    const reputation = this.standing.reputation(nodeId, now);
    const health = this.standing.healthFactor(nodeId);
    this.scheduler.inventory.upsertNode(
      nodeFromRecord(node, {
        schedulable,
        reputation: reputation === undefined ? undefined : reputation * health,
        verifiedTflops: this.standing.verifiedTflops(nodeId),
        rttMs: live?.rttMs,
      }),
    );
  }

  /**
   * A poll: the node is live, and the attempts it lists keep their leases. Listed attempts that are
   * no longer current are to be stopped. Returns those stop orders.
   */
  heartbeat(
    nodeId: string,
    acceptingWork: boolean,
    running: readonly { attemptId: string; fencing: number }[],
    rttMs: number | undefined,
    now: number,
  ): StopOrder[] {
    const before = this.live.get(nodeId);
    const wasLive = this.isLive(nodeId, now);
    const rttChanged =
      rttMs !== undefined &&
      (before?.rttMs === undefined || Math.abs(rttMs - before.rttMs) > before.rttMs * 0.2);
    this.live.set(nodeId, { lastSeenAt: now, acceptingWork, rttMs: rttChanged ? rttMs : before?.rttMs });
    if (!wasLive) this.effects.nodeEvents.push({ kind: "online", nodeId, at: now });
    const stop: StopOrder[] = [];
    for (const entry of running) {
      const job = this.jobOfAttempt(entry.attemptId);
      const member = job?.members.find((m) => m.id === entry.attemptId);
      if (member && member.nodeId === nodeId && member.fencing === entry.fencing && member.endedAt === null) {
        this.attempts.leases.set(member.id, now + this.pacing().leaseTtlMs);
      } else {
        stop.push({ attemptId: entry.attemptId, reason: job ? "superseded" : "unknown_attempt" });
      }
    }
    if (!acceptingWork) this.returnUntaken(nodeId, new Set(running.map((r) => r.attemptId)), now);
    if (!wasLive || before?.acceptingWork !== acceptingWork || rttChanged) {
      this.refreshNode(nodeId, now);
      this.schedule(now);
    }
    return stop;
  }

  /** Work waiting for a node: assignments it has not taken up yet, and attempts it must stop. */
  workFor(
    nodeId: string,
    taken: ReadonlySet<string>,
    now: number,
  ): { assignments: Assignment[]; stop: StopOrder[] } {
    const assignments: Assignment[] = [];
    const stop: StopOrder[] = [];
    for (const jobId of this.attempts.jobIdsOn(nodeId)) {
      const job = this.jobs.get(jobId);
      if (!job) continue;
      for (const member of job.members) {
        if (member.nodeId !== nodeId || member.endedAt !== null) continue;
        // A gang member stopped because a peer failed still reports its exit, so it is billed.
        if (member.stopping) stop.push({ attemptId: member.id, reason: "cancelled" });
        else if (member.startedAt === null && !taken.has(member.id) && !isTerminalStatus(job.status)) {
          const master = peerAddress(
            this.nodes.get(job.members[0]?.nodeId ?? ""),
            job.members[0]?.nodeId ?? nodeId,
          );
          const lease = this.attempts.leases.get(member.id) ?? now + this.pacing().leaseTtlMs;
          assignments.push(
            assignmentOf(job, member, this.region, master, lease, this.runLimitSeconds(job, member)),
          );
        }
      }
    }
    return { assignments, stop };
  }

  // ---- attempts ----------------------------------------------------------------------------

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
    this.attempts.leases.set(attemptId, now + this.pacing().leaseTtlMs);
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

  // ---- user actions ------------------------------------------------------------------------

  submit(job: JobRecord, now: number): void {
    if (this.jobs.has(job.id)) return;
    this.jobs.set(job.id, job);
    this.stageJob(job);
    this.enqueue(job);
    this.schedule(now);
  }

  cancel(job: JobRecord, now: number): void {
    const active = job.members.filter((m) => m.endedAt === null);
    this.transition(job, "cancelled", "cancelled by the user", now, { endedAt: now });
    if (active.length === 0) {
      this.scheduler.queue.remove(job.id);
      this.forget(job, now);
      return;
    }
    this.stopMembers(job, "cancelled");
  }

  // ---- time --------------------------------------------------------------------------------

  /** Expires lapsed leases, parks silent nodes, re-queues retries that are due, and places work. */
  sweep(now: number): void {
    for (const [nodeId, seen] of this.live) {
      if (
        now - seen.lastSeenAt > this.pacing().graceMs &&
        this.scheduler.inventory.node(nodeId)?.node.schedulable
      ) {
        this.scheduler.inventory.setSchedulable(nodeId, false);
        this.effects.nodeEvents.push({ kind: "offline", nodeId, at: now });
      }
    }
    for (const job of [...this.jobs.values()]) {
      if (job.status === "queued" && job.retryAt !== null && job.retryAt <= now) {
        job.retryAt = null;
        this.stageJob(job);
        this.enqueue(job);
        continue;
      }
      for (const member of job.members) {
        if (member.endedAt !== null) continue;
        const expiresAt = this.attempts.leases.get(member.id) ?? now + this.pacing().leaseTtlMs;
        this.attempts.leases.set(member.id, expiresAt);
        if (expiresAt <= now) {
          this.lapse(job, member, now);
          break;
        }
      }
    }
    this.schedule(now);
  }

  /** The earliest time the sweep has something to do, or null when nothing is pending. */
  nextWakeAt(now: number): number | null {
    let next: number | null = null;
    const consider = (at: number): void => {
      next = next === null ? at : Math.min(next, at);
    };
    let active = false;
    for (const job of this.jobs.values()) {
      if (job.retryAt !== null) consider(job.retryAt);
      if (!active && job.members.some((m) => m.endedAt === null)) active = true;
    }
    // While attempts run or any node is live, the sweep watches leases and liveness; one live node
    // is enough to know, so a large quiet region does not walk all of them on every request.
    if (active || this.anyLive(now)) consider(now + this.timing.sweepMs);
    return next;
  }

  private anyLive(now: number): boolean {
    for (const nodeId of this.live.keys()) if (this.isLive(nodeId, now)) return true;
    return false;
  }

  // ---- placement ---------------------------------------------------------------------------

  /** One scheduling pass: every queued job that fits now gets its placement (all nodes, or none). */
  schedule(now: number): void {
    for (const { job: queued, placement } of this.scheduler.schedule()) {
      const job = this.jobs.get(queued.payload);
      if (job) this.assign(job, placement, now);
      else this.scheduler.inventory.release(queued.id);
    }
  }

  private enqueue(job: JobRecord): void {
    this.scheduler.enqueue({
      id: job.id,
      accountId: job.accountId,
      priority: specPriority(job.spec),
      demand: demandFromSpec(job.spec, job.excludedNodes),
      maxRunMs: job.spec.timeoutSeconds * 1000,
      enqueuedAt: job.createdAt,
      payload: job.id,
    });
  }

  /** Decays with a one-hour half-life: yesterday's flood does not count against an account today. */
  private recentUseOf(accountId: string, now: number): number {
    const use = this.recentUse.get(accountId);
    return use ? use.units * 0.5 ** ((now - use.at) / FAIR_SHARE_HALF_LIFE_MS) : 0;
  }

  private assign(job: JobRecord, placement: Placement, now: number): void {
    const units = demandUnits(demandFromSpec(job.spec));
    this.recentUse.set(job.accountId, { units: this.recentUseOf(job.accountId, now) + units, at: now });
    job.attempts += 1;
    job.members = placement.nodes.map((placed) => {
      this.fencing += 1;
      return {
        id: newId("att", now),
        nodeId: placed.nodeId,
        rank: placed.rank,
        fencing: this.fencing,
        gpuUuids: placed.gpuUuids,
        cpus: placed.allocation.cpuMilli / 1000,
        memoryMib: placed.allocation.memoryMib,
        pricePerGpuHourMicros: placed.pricePerGpuHourMicros,
        assignedAt: now,
        startedAt: null,
        endedAt: null,
        exitCode: null,
        stopping: null,
      };
    });
    this.effects.puts.set(FENCING_KEY, this.fencing);
    for (const member of job.members) {
      this.attempts.add(job.id, member, now + this.pacing().leaseTtlMs);
      this.effects.outbox.push(attemptStartEntry(job, member, now));
      this.effects.wake.add(member.nodeId);
    }
    const first = job.members[0];
    this.transition(job, "assigned", null, now, {
      nodeId: first?.nodeId ?? null,
      attemptId: first?.id ?? null,
      attempts: job.attempts,
      assignedAt: now,
      startedAt: null,
    });
  }

  /** A draining node gives back the assignments it never took up; they are placed again at once. */
  private returnUntaken(nodeId: string, taken: ReadonlySet<string>, now: number): void {
    for (const jobId of this.attempts.jobIdsOn(nodeId)) {
      const job = this.jobs.get(jobId);
      if (job?.status !== "assigned") continue;
      const member = job.members.find((m) => m.nodeId === nodeId && m.endedAt === null);
      if (!member || member.startedAt !== null || taken.has(member.id)) continue;
      this.retireMembers(job, "returned", now);
      this.transition(job, "queued", `node ${nodeId} is draining; placing the job again`, now, {
        nodeId: null,
        attemptId: null,
        assignedAt: null,
      });
      this.enqueue(job);
    }
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
  private lapse(job: JobRecord, member: AttemptRecord, now: number): void {
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
  private retireMembers(job: JobRecord, outcome: "lost" | "returned", now: number): void {
    for (const member of job.members) {
      if (member.endedAt !== null) continue;
      member.endedAt = now;
      this.endMember(job, member, outcome, now);
      // A peer still running the retired placement is told to stop at its next poll.
      this.effects.wake.add(member.nodeId);
    }
    this.scheduler.inventory.release(job.id);
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
      ...attemptEndEntries(job, member, outcome, now, this.nodes.get(member.nodeId), this.fees),
    );
    this.stageJob(job);
  }

  /** Once no member runs, the reservation is freed; a finished job then leaves the region. */
  private settleIfDone(job: JobRecord, now: number): void {
    if (job.members.some((m) => m.endedAt === null)) return;
    this.scheduler.inventory.release(job.id);
    if (isTerminalStatus(job.status)) this.forget(job, now);
  }

  private budgetStopped(
    job: JobRecord,
    member: AttemptRecord,
    report: AttemptReport & { type: "exited" },
  ): boolean {
    return report.reason === "timeout" && this.runLimitSeconds(job, member) < job.spec.timeoutSeconds;
  }

  // ---- records -----------------------------------------------------------------------------

  private transition(
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

  private stageJob(job: JobRecord): void {
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
