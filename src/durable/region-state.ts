import type { FeeConfig } from "../ledger/ledger-config.js";
import type { Assignment, StopOrder } from "../shared/agent-protocol.js";
import { newId } from "../shared/ids.js";
import { assignmentOf, peerAddress } from "./assignment.js";
import { attemptStartEntry } from "./attempt-records.js";
import { allocationOf, isTerminalStatus } from "./job-outcome.js";
import type { Timing } from "./lease.js";
import { type Pacing, pacingFor } from "./poll-pacing.js";
import { RegionJobs } from "./region-jobs.js";
import type { JobRecord, NodeRecord } from "./region-records.js";
import {
  demandFromSpec,
  demandUnits,
  nodeFromRecord,
  type Placement,
  Scheduler,
  specPriority,
} from "./scheduler/index.js";

export { BUDGET_EXHAUSTED, JOB_KEY } from "./region-jobs.js";

export const NODE_KEY = "node:";
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

/**
 * One region's state machine: nodes, the queue, placements, leases and every job's transitions.
 * Pure: it does no I/O. Each step stages what must be written (storage entries, D1 records in the
 * outbox) and which nodes to wake; the Region Durable Object carries those out before it replies.
 * Liveness and lease expiries live in memory only, so a heartbeat that changes nothing writes
 * nothing.
 */
export class RegionState extends RegionJobs {
  region = "";
  private fencing = 0;
  readonly nodes = new Map<string, NodeRecord>();
  private readonly live = new Map<string, Liveness>();
  readonly scheduler: Scheduler<string>;
  /** Each account's recently placed work, decayed: the queue's memory for fair share. */
  private readonly recentUse = new Map<string, { units: number; at: number }>();
  standing: NodeStanding = NEUTRAL_STANDING;

  constructor(
    readonly timing: Timing,
    fees: FeeConfig,
  ) {
    super(fees);
    this.scheduler = new Scheduler<string>({
      clock: { now: () => Date.now() },
      history: (accountId) => this.recentUseOf(accountId, Date.now()),
    });
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

  // ---- user actions ------------------------------------------------------------------------

  submit(job: JobRecord, now: number): void {
    if (this.jobs.has(job.id)) return;
    this.jobs.set(job.id, job);
    this.stageJob(job);
    this.enqueue(job);
    this.schedule(now);
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

  // ---- hooks for the jobs half --------------------------------------------------------------

  protected dequeue(jobId: string): void {
    this.scheduler.queue.remove(jobId);
  }

  protected releasePlacement(jobId: string): void {
    this.scheduler.inventory.release(jobId);
  }

  protected leaseTtlMs(): number {
    return this.pacing().leaseTtlMs;
  }

  protected nodeOf(nodeId: string): NodeRecord | undefined {
    return this.nodes.get(nodeId);
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

  protected enqueue(job: JobRecord): void {
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

  // ---- records -----------------------------------------------------------------------------
}
