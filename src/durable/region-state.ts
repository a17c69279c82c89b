import type { OrderedSlash } from "../chain/staking/slash-orders.js";
import type { Assignment, AttemptReport, StopOrder } from "../shared/agent-protocol.js";
import { AGENT_RETRY_CAP_MS } from "../shared/agent-retry.js";
import type { JobStatus } from "../shared/job-status.js";
import type { RegistrationReceipt } from "../shared/receipts/receipt.js";
import type { RegionCountersignature } from "../shared/receipts/region-countersignature.js";
import type { SignedUsage } from "../shared/receipts/usage-statement.js";
import type { StakeTier } from "../shared/staking-api.js";
import { type Effects, Staging } from "./effects.js";
import { JobBook } from "./job-book.js";
import type { PauseTerms } from "./job-pause.js";
import type { NodePresence } from "./node-presence.js";
import { type ReclaimAnswer, reclaimAttempts } from "./node-reclaim.js";
import { type HandoverParts, workFor } from "./node-work.js";
import { OwedAnswers } from "./owed-answers.js";
import type { Pacing } from "./poll-pacing.js";
import { RegionJobs } from "./region-jobs.js";
import { RegionNodes } from "./region-nodes.js";
import type { RegionParts, RegionSnapshot } from "./region-parts.js";
import type { AttemptRecord, JobRecord, NodeRecord } from "./region-records.js";
import { Settling } from "./region-settling.js";
import { nextWakeAt, type SweepParts, sweepNodes } from "./region-sweep.js";
import type { Scheduler } from "./scheduler/index.js";

export { absenceReason } from "./absence-reason.js";
export { BUDGET_EXHAUSTED } from "./region-jobs.js";
export type { RegionParts, RegionSnapshot } from "./region-parts.js";

/**
 * One region's state machine: nodes, the queue, placements, leases and every job's transitions.
 * Pure: it does no I/O. Each step stages what must be written (storage entries, D1 records in the
 * outbox) and which nodes to wake, and ends by settling: what nodes did is reported to their
 * standing, nodes whose standing moved are re-indexed, and freed or new capacity gets a
 * scheduling pass — until nothing changes. The Region Durable Object writes what was staged.
 */
export class RegionState {
  private readonly staging = new Staging();
  private readonly nodeBook: RegionNodes;
  private readonly book: JobBook;
  private readonly lifecycle: RegionJobs;
  /** Agent requests taken and not yet answered (see owed-answers.ts). */
  private readonly owed = new OwedAnswers();
  private readonly settling: Settling;
  private passes = 0;

  constructor(
    readonly region: string,
    private readonly parts: RegionParts,
    snapshot: RegionSnapshot,
  ) {
    const staging = this.staging;
    this.nodeBook = new RegionNodes({ ...parts, staging }, snapshot.nodes);
    this.book = new JobBook(
      { scheduler: parts.scheduler, staging, fees: parts.fees, nodeOf: (id) => this.nodeBook.get(id) },
      {
        fencing: snapshot.fencing,
        jobs: snapshot.jobs,
        // Its nodes must find the restarted region first: an agent may be out in its longest backoff.
        leaseUntil: parts.clock.now() + this.pacing().leaseTtlMs + AGENT_RETRY_CAP_MS,
      },
    );
    this.nodeBook.parkAll();
    this.lifecycle = new RegionJobs({
      book: this.book,
      staging,
      runLimit: parts.runLimit,
      leaseTtlMs: () => this.pacing().leaseTtlMs,
    });
    this.settling = new Settling({
      staging,
      standing: parts.standing,
      nodeBook: this.nodeBook,
      book: this.book,
      lifecycle: this.lifecycle,
      scheduler: parts.scheduler,
      fairShare: parts.fairShare,
    });
    // Restoring stages nothing worth writing again.
    staging.drain();
    staging.takeEvents();
  }

  get nodes(): ReadonlyMap<string, NodeRecord> {
    return this.nodeBook.records;
  }

  get jobs(): Map<string, JobRecord> {
    return this.book.jobs;
  }

  /** When each live attempt's lease lapses (memory only). */
  get leases(): Map<string, number> {
    return this.book.attempts.leases;
  }

  get scheduler(): Scheduler<string> {
    return this.parts.scheduler;
  }

  pacing(): Pacing {
    return this.nodeBook.pacing();
  }

  /** What handing a node its work (new, or reclaimed after a restart) reads. */
  private get handover(): HandoverParts {
    return {
      region: this.region,
      book: this.book,
      lifecycle: this.lifecycle,
      nodeOf: (id) => this.nodeBook.get(id),
      runLimit: this.parts.runLimit,
      leaseTtlMs: () => this.pacing().leaseTtlMs,
    };
  }

  isAcceptingWork(nodeId: string): boolean {
    return this.nodeBook.isAcceptingWork(nodeId);
  }

  isLive(nodeId: string, now: number): boolean {
    return this.nodeBook.isLive(nodeId, now);
  }

  /** Takes what the last steps staged; the shell writes it and wakes the polls. */
  drainEffects(): Effects {
    return this.staging.drain();
  }

  // ---- nodes -------------------------------------------------------------------------------

  registerNode(node: NodeRecord, now: number): void {
    this.nodeBook.register(node, now);
    this.settle(now);
  }

  /** An attempt's usage statement as its agent signed it, and the region's countersignature (where
   * it has a key): owed to D1 before the attempt's charge. */
  recordUsage(usage: SignedUsage, countersignature: RegionCountersignature | undefined, at: number): void {
    this.staging.record({ kind: "usage", usage, ...(countersignature ? { countersignature } : {}), at });
  }

  /** A rejected verification's slash, owed to D1 with the step that judged it. */
  orderSlash(order: OrderedSlash): void {
    this.staging.record({ kind: "slash-order", order });
  }

  /** A node's registration as a verification measured it, to be anchored with the receipts. */
  recordRegistration(record: RegistrationReceipt): void {
    this.staging.record({ kind: "registration", record });
  }

  /** The node's stake tier, as the Worker saw it change; false for a node unknown or unchanged. */
  restake(nodeId: string, tier: StakeTier, now: number): boolean {
    const changed = this.nodeBook.restake(nodeId, tier, now);
    if (changed) this.settle(now);
    return changed;
  }

  /**
   * A poll: the node is live, and the attempts it lists keep their leases. Listed attempts that are
   * no longer current are to be stopped; those stop orders are returned.
   */
  heartbeat(
    nodeId: string,
    acceptingWork: boolean,
    running: readonly { attemptId: string; fencing: number }[],
    rttMs: number | undefined,
    now: number,
  ): StopOrder[] {
    this.nodeBook.seen(nodeId, acceptingWork, rttMs, now);
    const stop: StopOrder[] = [];
    for (const entry of running) {
      const current = this.currentAttempt(entry.attemptId, nodeId, entry.fencing);
      if (current) this.lifecycle.renewLease(current.member.id, now);
      else
        stop.push({
          attemptId: entry.attemptId,
          reason: this.book.jobOfAttempt(entry.attemptId) ? "superseded" : "unknown_attempt",
        });
    }
    if (!acceptingWork) this.lifecycle.returnUntaken(nodeId, new Set(running.map((r) => r.attemptId)), now);
    this.settle(now);
    return stop;
  }

  /**
   * A poll of the node is held open under `token` (the request's nonce). True when another poll of
   * the node is held too: the newer one wins, the older is refused (see the Region object).
   */
  pollOpened(nodeId: string, token: string, now: number): void {
    this.nodeBook.pollOpened(nodeId, token, now);
    this.owed.open(nodeId, token);
    this.settle(now);
  }

  /** The held poll was answered. */
  pollAnswered(nodeId: string, token: string, now: number): void {
    this.owed.close(nodeId, token);
    this.nodeBook.presence.pollAnswered(nodeId, token, now);
  }

  /**
   * The region took a request of the node under `token` (its nonce) and owes it an answer: until
   * `requestAnswered`, the node is present (as while a poll is held) and its attempts keep their
   * leases. A poll is owed from its arrival until it is held (`pollHeld`) or answered.
   */
  requestOpened(nodeId: string, token: string, now: number): void {
    this.nodeBook.presence.pollOpened(nodeId, token, now);
    this.owed.open(nodeId, token);
  }

  /** The request's answer went out: the node's next request is due one of its usual gaps from now. */
  requestAnswered(nodeId: string, token: string, now: number): void {
    this.owed.close(nodeId, token);
    this.nodeBook.presence.pollAnswered(nodeId, token, now);
  }

  /** A poll's heartbeat is saved and it now waits for work: the node is waiting, not the region. */
  pollHeld(nodeId: string, token: string): void {
    this.owed.close(nodeId, token);
  }

  /**
   * The held poll's connection dropped before its answer (the agent died, or its link reset).
   * Its attempts are kept for the reconnect window; false when that poll was no longer held.
   */
  pollDropped(nodeId: string, token: string, now: number): boolean {
    this.owed.close(nodeId, token);
    const dropped = this.nodeBook.pollDropped(nodeId, token, now);
    this.settle(now);
    return dropped;
  }

  /** The node's presence socket closed: it has the reconnect window to come back. */
  connectionLost(nodeId: string, now: number): void {
    this.nodeBook.presence.connectionLost(nodeId, now);
    this.nodeBook.refresh(nodeId, now);
    this.settle(now);
  }

  /** A request from the node other than a poll (a presence socket opening). */
  heard(nodeId: string, now: number): void {
    this.nodeBook.presence.heard(nodeId, now);
  }

  /** Who is present: held polls, silences, dropped connections and which agent session holds each node. */
  get presence(): NodePresence {
    return this.nodeBook.presence;
  }

  /** Polls of the node held open now. */
  openPolls(nodeId: string): number {
    return this.nodeBook.presence.openPolls(nodeId);
  }

  /** Something about these nodes' standing changed (a judgement, new metrics, a lifted quarantine). */
  standingChanged(nodeIds: Iterable<string>, now: number): void {
    for (const nodeId of nodeIds) this.nodeBook.refresh(nodeId, now);
    this.settle(now);
  }

  /** Work waiting for a node: assignments it has not taken up yet, and attempts it must stop. */
  workFor(
    nodeId: string,
    taken: ReadonlySet<string>,
    now: number,
  ): { assignments: Assignment[]; stop: StopOrder[] } {
    return workFor(this.handover, nodeId, taken, now);
  }

  // ---- attempts ----------------------------------------------------------------------------

  /** The job and attempt a report is about, if the report's node and fencing number are current. */
  currentAttempt(
    attemptId: string,
    nodeId: string,
    fencing: number,
  ): { job: JobRecord; member: AttemptRecord } | undefined {
    const job = this.book.jobOfAttempt(attemptId);
    const member = job?.members.find((m) => m.id === attemptId);
    if (!job || !member || member.nodeId !== nodeId || member.fencing !== fencing || member.endedAt !== null)
      return undefined;
    return { job, member };
  }

  /** A report from the attempt's node, already checked current: its lease is renewed, and it is applied. */
  report(job: JobRecord, member: AttemptRecord, report: AttemptReport, now: number): void {
    this.nodeBook.presence.heard(member.nodeId, now);
    this.lifecycle.renewLease(member.id, now);
    if (report.type === "started") this.lifecycle.started(job, member, now, report);
    else if (report.type === "exited") this.lifecycle.exited(job, member, report, now);
    this.settle(now);
  }

  /** A restarted agent names the attempt containers it found (see node-reclaim.ts). */
  reclaim(
    nodeId: string,
    found: readonly { attemptId: string; running: boolean }[],
    now: number,
  ): ReclaimAnswer {
    this.nodeBook.seen(nodeId, true, undefined, now);
    // Every attempt the restarted node no longer has is one loss of the node.
    const answer = reclaimAttempts(this.handover, nodeId, found, this.lossPass(now), now);
    this.settle(now);
    return answer;
  }

  /** The jobs with an attempt on this node now, for its provider. */
  jobsOnNode(nodeId: string): { jobId: string; attemptId: string; status: JobStatus }[] {
    const out: { jobId: string; attemptId: string; status: JobStatus }[] = [];
    for (const jobId of this.book.attempts.jobIdsOn(nodeId)) {
      const job = this.book.jobs.get(jobId);
      const member = job?.members.find((m) => m.nodeId === nodeId && m.endedAt === null);
      if (job && member) out.push({ jobId, attemptId: member.id, status: job.status });
    }
    return out;
  }

  // ---- user actions ------------------------------------------------------------------------

  /** Queues a job and places it if it fits now; false when the region already has it. */
  submit(job: JobRecord, now: number): boolean {
    const added = this.lifecycle.submit(job);
    this.settle(now);
    return added;
  }

  cancel(job: JobRecord, now: number): void {
    this.lifecycle.cancel(job, now);
    this.settle(now);
  }

  /** Stops a running job's members to pause it (see job-pause.ts); throws a MeridianError if it cannot be. */
  pause(job: JobRecord, terms: PauseTerms, now: number): void {
    this.lifecycle.pauses.request(job, terms, now);
    this.settle(now);
  }

  /** Queues a paused job again, for any node that fits. */
  resume(job: JobRecord, now: number): void {
    this.lifecycle.pauses.resume(job, now);
    this.settle(now);
  }

  /** A checkpoint of the job was committed: what its pause would keep stored. */
  checkpointStored(jobId: string, seq: number, bytes: number): void {
    const job = this.book.jobs.get(jobId);
    if (!job || (job.checkpoint && job.checkpoint.seq >= seq)) return;
    job.checkpoint = { seq, bytes };
    this.book.stage(job);
  }

  // ---- time --------------------------------------------------------------------------------

  /** Expires lapsed leases, parks silent nodes, re-queues retries that are due, and places work. */
  sweep(now: number): void {
    sweepNodes(this.sweepParts, this.lossPass(now), now);
    this.staging.schedulePass = true;
    this.settle(now);
  }

  /** The earliest time the sweep has something to do, or null when nothing is pending. */
  nextWakeAt(now: number): number | null {
    return nextWakeAt(this.sweepParts, now);
  }

  private get sweepParts(): SweepParts {
    const { nodeBook, book, lifecycle, owed } = this;
    return { nodeBook, book, lifecycle, owed, sweepMs: this.parts.lease.timing.sweepMs };
  }

  /**
   * A new incident key for one node-loss pass: its time, and a count that tells apart passes in the
   * same millisecond (keys are only compared with a node's last one, so they need not be secret).
   */
  private lossPass(now: number): string {
    this.passes += 1;
    return `${now}.${this.passes}`;
  }

  /** Every step ends by settling (see region-settling.ts). */
  private settle(now: number): void {
    this.settling.settle(now);
  }
}
