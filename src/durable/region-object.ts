import { DurableObject } from "cloudflare:workers";
import { ledgerConfig } from "../ledger/ledger-config.js";
import type { AttemptOutcome } from "../ledger/settlement.js";
import type {
  Assignment,
  AttemptReport,
  PollRequest,
  PollResponse,
  RegisterRequest,
  RegisterResponse,
  ReportResponse,
  StopOrder,
} from "../shared/agent-protocol.js";
import type { NodeView } from "../shared/api.js";
import { MeridianError } from "../shared/errors.js";
import { gpuModelForReportedName } from "../shared/gpu-catalog.js";
import { newId, nodeIdForPublicKey } from "../shared/ids.js";
import type { JobStatus } from "../shared/job-status.js";
import { formatUsd } from "../shared/money.js";
import { LEASE_TTL_MS, NODE_GRACE_MS, POLL_WAIT_MS, SWEEP_INTERVAL_MS } from "./lease.js";
import { writeLogs } from "./log-writer.js";
import { NonceGuard } from "./nonce-guard.js";
import { type JobPatch, Outbox, type OutboxEntry } from "./outbox.js";
import { countShortfall, type NodeCapacity, pendingReason, placeFirstFit } from "./placement.js";
import { PollWaiters } from "./poll-waiters.js";
import type { AgentCaller, AttemptRecord, JobRecord, NodeRecord, SubmittedJob } from "./region-records.js";
import { asResult, type RpcResult } from "./rpc-result.js";

interface Liveness {
  lastSeenAt: number;
  acceptingWork: boolean;
}

const NODE_KEY = "node:";
const JOB_KEY = "job:";
const FENCING_KEY = "meta:fencing";
const REGION_KEY = "meta:region";
/** DO storage takes at most 128 keys in one put or delete. */
const STORAGE_CHUNK = 128;

/**
 * One region's live state: its nodes, queue, leases and placements. Methods are called through the
 * stub by the Worker. Memory mirrors storage; every change is in storage (with the D1 records it
 * owes, in the outbox) before the method returns. Liveness and lease renewals live in memory only:
 * after a restart every lease gets a fresh grace period instead of a write per heartbeat.
 */
export class RegionObject extends DurableObject<Env> {
  private region = "";
  private fencing = 0;
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly live = new Map<string, Liveness>();
  private readonly jobs = new Map<string, JobRecord>();
  private readonly leases = new Map<string, number>();
  private readonly waiters = new PollWaiters();
  private readonly nonces: NonceGuard;
  private readonly outbox: Outbox;
  private staged: Record<string, unknown> = {};
  private stagedDeletes = new Set<string>();
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.nonces = new NonceGuard(Date.now());
    this.outbox = new Outbox(ctx.storage, env.DB);
    void ctx.blockConcurrencyWhile(() => this.load());
  }

  private async load(): Promise<void> {
    const now = Date.now();
    this.region = (await this.ctx.storage.get<string>(REGION_KEY)) ?? "";
    this.fencing = (await this.ctx.storage.get<number>(FENCING_KEY)) ?? 0;
    for (const node of (await this.ctx.storage.list<NodeRecord>({ prefix: NODE_KEY })).values()) {
      this.nodes.set(node.id, node);
    }
    for (const job of (await this.ctx.storage.list<JobRecord>({ prefix: JOB_KEY })).values()) {
      this.jobs.set(job.id, job);
      if (job.attempt) this.leases.set(job.attempt.id, now + LEASE_TTL_MS);
    }
    await this.outbox.load();
    this.alarmAt = await this.ctx.storage.getAlarm();
  }

  // ---- agent-facing methods ------------------------------------------------------------------

  async register(
    caller: AgentCaller,
    request: RegisterRequest,
    region: string,
  ): Promise<RpcResult<RegisterResponse>> {
    return asResult(async () => {
      const now = Date.now();
      this.nonces.check(caller.nonce, caller.timestamp, now);
      this.setRegion(region);
      const id = await nodeIdForPublicKey(caller.publicKey);
      const previous = this.nodes.get(id);
      const node: NodeRecord = {
        id,
        publicKey: caller.publicKey,
        region,
        // The catalogue model follows from the reported name, never from what the agent says it is.
        hardware: {
          ...request.hardware,
          gpus: request.hardware.gpus.map((gpu) => ({
            ...gpu,
            model: gpuModelForReportedName(gpu.name)?.id,
          })),
        },
        pricePerGpuHourMicros: request.pricePerGpuHour,
        labels: request.labels,
        agentVersion: request.agentVersion,
        runtime: request.runtime,
        registeredAt: previous?.registeredAt ?? now,
      };
      this.nodes.set(id, node);
      this.live.set(id, { lastSeenAt: now, acceptingWork: true });
      this.stage(NODE_KEY + id, node);
      this.stageOutbox({ kind: "node", node, at: now });
      this.schedule(now);
      await this.save();
      return { nodeId: id, region, pollWaitMs: POLL_WAIT_MS, leaseTtlMs: LEASE_TTL_MS };
    });
  }

  async poll(caller: AgentCaller, request: PollRequest): Promise<RpcResult<PollResponse>> {
    return asResult(async () => {
      const now = Date.now();
      const node = this.authenticate(caller, now);
      const wasAccepting = this.live.get(node.id)?.acceptingWork ?? false;
      this.live.set(node.id, { lastSeenAt: now, acceptingWork: request.acceptingWork });
      const stop: StopOrder[] = [];
      const listed = new Set<string>();
      for (const running of request.running) {
        listed.add(running.attemptId);
        const job = this.jobByAttempt(running.attemptId);
        if (job?.attempt?.nodeId === node.id && job.attempt.fencing === running.fencing) {
          this.leases.set(running.attemptId, now + LEASE_TTL_MS);
        } else {
          stop.push({ attemptId: running.attemptId, reason: job ? "superseded" : "unknown_attempt" });
        }
      }
      if (!request.acceptingWork) this.returnUntaken(node.id, listed, now);
      if (request.acceptingWork !== wasAccepting) {
        this.schedule(now);
        await this.save();
      }
      let work = this.workFor(node.id, listed);
      if (work.assignments.length === 0 && work.stop.length === 0 && stop.length === 0) {
        await this.waiters.wait(node.id, Math.min(request.waitMs ?? POLL_WAIT_MS, POLL_WAIT_MS));
        this.touch(node.id, request.acceptingWork);
        work = this.workFor(node.id, listed);
      }
      return {
        assignments: work.assignments,
        stop: [...stop, ...work.stop],
        challenges: [],
        nextPollDelayMs: 0,
      };
    });
  }

  async report(
    caller: AgentCaller,
    attemptId: string,
    report: AttemptReport,
  ): Promise<RpcResult<ReportResponse>> {
    return asResult(async () => {
      const now = Date.now();
      const node = this.authenticate(caller, now);
      this.touch(node.id, this.live.get(node.id)?.acceptingWork ?? true);
      const job = this.jobByAttempt(attemptId);
      const attempt = job?.attempt;
      if (!job || !attempt || attempt.nodeId !== node.id || attempt.fencing !== report.fencing) {
        throw new MeridianError(409, "stale_lease", "this attempt's lease is no longer current; stop it");
      }
      this.leases.set(attempt.id, now + LEASE_TTL_MS);
      switch (report.type) {
        case "started":
          if (job.status === "assigned") {
            attempt.startedAt = now;
            this.transition(job, "running", null, now, { startedAt: now });
            await this.save();
          }
          break;
        case "logs":
          await writeLogs(this.env.DB, job.id, attempt.id, report.chunks);
          break;
        case "exited":
          this.finishAttempt(job, attempt, report, now);
          this.schedule(now);
          await this.save();
          return { accepted: true, stop: true };
      }
      return { accepted: true, stop: attempt.stopping !== null };
    });
  }

  // ---- user-facing methods -------------------------------------------------------------------

  async submit(
    region: string,
    submitted: SubmittedJob,
  ): Promise<RpcResult<{ status: JobStatus; reason: string | null }>> {
    return asResult(async () => {
      const now = Date.now();
      this.setRegion(region);
      if (!this.jobs.has(submitted.id)) {
        const job: JobRecord = {
          ...submitted,
          status: "queued",
          seq: 1,
          attempts: 0,
          attempt: null,
          excludedNodes: [],
        };
        this.jobs.set(job.id, job);
        this.stage(JOB_KEY + job.id, job);
        this.schedule(now);
        await this.save();
      }
      const job = this.jobs.get(submitted.id);
      return { status: job?.status ?? "queued", reason: job ? this.explain(job) : null };
    });
  }

  async cancel(jobId: string): Promise<RpcResult<{ status: JobStatus }>> {
    return asResult(async () => {
      const now = Date.now();
      const job = this.jobs.get(jobId);
      if (!job) throw new MeridianError(409, "job_finished", "the job has already ended");
      if (job.status === "cancelled") return { status: "cancelled" };
      if (job.attempt) {
        job.attempt.stopping = "cancelled";
        this.transition(job, "cancelled", "cancelled by the user", now, { endedAt: now });
        this.waiters.wake(job.attempt.nodeId);
      } else {
        this.transition(job, "cancelled", "cancelled by the user", now, { endedAt: now });
        this.forget(job);
      }
      await this.save();
      return { status: "cancelled" };
    });
  }

  /** Why each of these jobs is still queued; jobs that are not queued here are left out. */
  async pendingReasons(jobIds: string[]): Promise<RpcResult<Record<string, string>>> {
    return asResult(async () => {
      const out: Record<string, string> = {};
      for (const id of jobIds) {
        const job = this.jobs.get(id);
        const reason = job ? this.explain(job) : null;
        if (reason !== null) out[id] = reason;
      }
      return out;
    });
  }

  async listNodes(): Promise<RpcResult<NodeView[]>> {
    return asResult(async () => {
      const now = Date.now();
      return this.capacities(now).map(({ node, live, reserved }) => {
        const reservedGpus = new Set(reserved.flatMap((attempt) => attempt.gpuUuids));
        return {
          id: node.id,
          region: node.region,
          status: live ? "online" : "offline",
          gpus: node.hardware.gpus.map((gpu) => ({
            index: gpu.index,
            model: gpu.model ?? null,
            name: gpu.name,
            vramGb: Math.round((gpu.vramMib / 1024) * 10) / 10,
          })),
          freeGpus: node.hardware.gpus.filter((gpu) => !reservedGpus.has(gpu.uuid)).length,
          cpus: node.hardware.cpus,
          memoryGb: Math.round((node.hardware.memoryMib / 1024) * 10) / 10,
          pricePerGpuHour: formatUsd(node.pricePerGpuHourMicros),
          labels: node.labels,
        };
      });
    });
  }

  // ---- timed work ----------------------------------------------------------------------------

  /** Expires lapsed leases, retries D1 records and re-places work. Safe to run twice. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.alarmAt = null;
    for (const job of [...this.jobs.values()]) {
      const attempt = job.attempt;
      if (!attempt) continue;
      const expiresAt = this.leases.get(attempt.id) ?? now + LEASE_TTL_MS;
      this.leases.set(attempt.id, expiresAt);
      if (expiresAt <= now) this.loseAttempt(job, attempt, now);
    }
    this.schedule(now);
    await this.save();
  }

  // ---- internals -----------------------------------------------------------------------------

  private authenticate(caller: AgentCaller, now: number): NodeRecord {
    this.nonces.check(caller.nonce, caller.timestamp, now);
    const node = caller.nodeId ? this.nodes.get(caller.nodeId) : undefined;
    if (!node || node.publicKey !== caller.publicKey) {
      throw new MeridianError(
        401,
        "unknown_node",
        "this node is not registered in this region; register first",
      );
    }
    return node;
  }

  private setRegion(region: string): void {
    if (this.region === region) return;
    this.region = region;
    this.stage(REGION_KEY, region);
  }

  private touch(nodeId: string, acceptingWork: boolean): void {
    this.live.set(nodeId, { lastSeenAt: Date.now(), acceptingWork });
  }

  private isLive(nodeId: string, now: number): boolean {
    const seen = this.live.get(nodeId);
    return seen !== undefined && now - seen.lastSeenAt <= NODE_GRACE_MS;
  }

  private jobByAttempt(attemptId: string): JobRecord | undefined {
    for (const job of this.jobs.values()) if (job.attempt?.id === attemptId) return job;
    return undefined;
  }

  private capacities(now: number): NodeCapacity[] {
    const reserved = new Map<string, AttemptRecord[]>();
    for (const job of this.jobs.values()) {
      if (!job.attempt) continue;
      const list = reserved.get(job.attempt.nodeId) ?? [];
      list.push(job.attempt);
      reserved.set(job.attempt.nodeId, list);
    }
    return [...this.nodes.values()].map((node) => ({
      node,
      live: this.isLive(node.id, now),
      acceptingWork: this.live.get(node.id)?.acceptingWork ?? false,
      reserved: reserved.get(node.id) ?? [],
    }));
  }

  private explain(job: JobRecord): string | null {
    if (job.status !== "queued") return null;
    const shortfall = countShortfall(this.capacities(Date.now()), job.spec, job.excludedNodes);
    return pendingReason(this.region, shortfall, job.spec);
  }

  /** Work waiting for a node: assignments it has not yet taken up, and attempts it must stop. */
  private workFor(
    nodeId: string,
    taken: ReadonlySet<string>,
  ): { assignments: Assignment[]; stop: StopOrder[] } {
    const assignments: Assignment[] = [];
    const stop: StopOrder[] = [];
    for (const job of this.jobs.values()) {
      const attempt = job.attempt;
      if (attempt?.nodeId !== nodeId) continue;
      if (attempt.stopping) stop.push({ attemptId: attempt.id, reason: attempt.stopping });
      else if (job.status === "assigned" && !taken.has(attempt.id))
        assignments.push(this.assignmentOf(job, attempt));
    }
    return { assignments, stop };
  }

  private assignmentOf(job: JobRecord, attempt: AttemptRecord): Assignment {
    return {
      jobId: job.id,
      attemptId: attempt.id,
      fencing: attempt.fencing,
      leaseExpiresAt: this.leases.get(attempt.id) ?? Date.now() + LEASE_TTL_MS,
      image: job.spec.image,
      command: job.spec.command,
      env: {
        ...job.spec.env,
        MERIDIAN_JOB_ID: job.id,
        MERIDIAN_ATTEMPT_ID: attempt.id,
        MERIDIAN_ATTEMPT: String(job.attempts),
        MERIDIAN_REGION: this.region,
        MERIDIAN_NODE_ID: attempt.nodeId,
      },
      gpuUuids: attempt.gpuUuids,
      cpus: attempt.cpus,
      memoryMib: attempt.memoryMib,
      timeoutSeconds: job.spec.timeoutSeconds,
    };
  }

  /** Places every queued job that fits now, oldest first. */
  private schedule(now: number): void {
    for (const job of this.jobs.values()) {
      if (job.status !== "queued") continue;
      const placement = placeFirstFit(this.capacities(now), job.spec, job.excludedNodes);
      if (!placement) continue;
      const node = this.nodes.get(placement.nodeId);
      if (!node) continue;
      this.fencing += 1;
      const attempt: AttemptRecord = {
        id: newId("att", now),
        nodeId: node.id,
        fencing: this.fencing,
        gpuUuids: placement.gpuUuids,
        cpus: job.spec.resources.cpus,
        memoryMib: Math.ceil(job.spec.resources.memoryGb * 1024),
        pricePerGpuHourMicros: node.pricePerGpuHourMicros,
        assignedAt: now,
        startedAt: null,
        stopping: null,
      };
      job.attempt = attempt;
      job.attempts += 1;
      this.leases.set(attempt.id, now + LEASE_TTL_MS);
      this.stage(FENCING_KEY, this.fencing);
      this.stageOutbox({
        kind: "attempt-start",
        id: attempt.id,
        jobId: job.id,
        nodeId: node.id,
        fencing: attempt.fencing,
        gpuUuids: attempt.gpuUuids,
        pricePerGpuHourMicros: attempt.pricePerGpuHourMicros,
        assignedAt: now,
      });
      this.transition(job, "assigned", null, now, {
        nodeId: node.id,
        attemptId: attempt.id,
        attempts: job.attempts,
        assignedAt: now,
        startedAt: null,
      });
      this.waiters.wake(node.id);
    }
  }

  private finishAttempt(
    job: JobRecord,
    attempt: AttemptRecord,
    report: AttemptReport & { type: "exited" },
    now: number,
  ): void {
    const succeeded = report.reason === "completed" && report.exitCode === 0;
    const outcome = job.status === "cancelled" ? "cancelled" : succeeded ? "succeeded" : "failed";
    this.stageOutbox({
      kind: "attempt-end",
      id: attempt.id,
      startedAt: attempt.startedAt,
      endedAt: now,
      exitCode: report.exitCode,
      outcome,
    });
    this.settle(job, attempt, outcome, now);
    if (job.status !== "cancelled") {
      const reason = succeeded ? null : failureReason(report, job.spec.timeoutSeconds);
      this.transition(job, succeeded ? "succeeded" : "failed", reason, now, {
        exitCode: report.exitCode,
        endedAt: now,
      });
    }
    this.forget(job);
  }

  /** A draining node gives back the assignments it never took up; they are placed again at once. */
  private returnUntaken(nodeId: string, taken: ReadonlySet<string>, now: number): void {
    for (const job of this.jobs.values()) {
      const attempt = job.attempt;
      if (attempt?.nodeId !== nodeId || job.status !== "assigned" || taken.has(attempt.id)) continue;
      this.stageOutbox({
        kind: "attempt-end",
        id: attempt.id,
        startedAt: null,
        endedAt: now,
        exitCode: null,
        outcome: "returned",
      });
      this.settle(job, attempt, "returned", now);
      this.leases.delete(attempt.id);
      job.attempt = null;
      this.transition(job, "queued", `node ${nodeId} is draining; placing the job again`, now, {
        nodeId: null,
        attemptId: null,
        assignedAt: null,
      });
    }
  }

  private loseAttempt(job: JobRecord, attempt: AttemptRecord, now: number): void {
    this.stageOutbox({
      kind: "attempt-end",
      id: attempt.id,
      startedAt: attempt.startedAt,
      endedAt: now,
      exitCode: null,
      outcome: "lost",
    });
    this.settle(job, attempt, "lost", now);
    this.leases.delete(attempt.id);
    if (job.status === "cancelled") {
      this.forget(job);
      return;
    }
    const retry = job.attempts <= job.spec.maxRetries;
    this.transition(job, "lost", `node ${attempt.nodeId} went silent; the attempt's lease expired`, now, {
      endedAt: retry ? null : now,
    });
    if (!retry) {
      this.forget(job);
      return;
    }
    job.attempt = null;
    job.excludedNodes.push(attempt.nodeId);
    this.transition(job, "queued", `retrying after attempt ${job.attempts} was lost`, now, {
      nodeId: null,
      attemptId: null,
      assignedAt: null,
      startedAt: null,
    });
  }

  private transition(
    job: JobRecord,
    status: JobStatus,
    reason: string | null,
    now: number,
    patch: JobPatch,
  ): void {
    job.status = status;
    job.seq += 1;
    this.stage(JOB_KEY + job.id, job);
    this.stageOutbox({
      kind: "transition",
      jobId: job.id,
      seq: job.seq,
      status,
      reason,
      attemptId: job.attempt?.id ?? null,
      nodeId: job.attempt?.nodeId ?? null,
      at: now,
      patch,
    });
  }

  /** Records what an ended attempt costs; only the user's own outcomes are charged. */
  private settle(job: JobRecord, attempt: AttemptRecord, outcome: AttemptOutcome, now: number): void {
    const node = this.nodes.get(attempt.nodeId);
    const firstGpu = node?.hardware.gpus.find((gpu) => attempt.gpuUuids.includes(gpu.uuid));
    this.stageOutbox({
      kind: "settle",
      settlement: {
        accountId: job.accountId,
        jobId: job.id,
        attemptId: attempt.id,
        nodeId: attempt.nodeId,
        outcome,
        startedAt: attempt.startedAt,
        endedAt: now,
        pricePerGpuHourMicros: attempt.pricePerGpuHourMicros,
        gpus: attempt.gpuUuids.length,
        gpuModel: firstGpu?.model ?? null,
      },
      fees: ledgerConfig(this.env),
      at: now,
    });
  }

  /** Drops an ended job from the region, and gives back what its hold did not spend. */
  private forget(job: JobRecord): void {
    this.stageOutbox({ kind: "release", accountId: job.accountId, jobId: job.id, at: Date.now() });
    if (job.attempt) this.leases.delete(job.attempt.id);
    this.jobs.delete(job.id);
    delete this.staged[JOB_KEY + job.id];
    this.stagedDeletes.add(JOB_KEY + job.id);
  }

  private stage(key: string, value: unknown): void {
    this.stagedDeletes.delete(key);
    this.staged[key] = value;
  }

  private stageOutbox(entry: OutboxEntry): void {
    for (const [key, value] of Object.entries(this.outbox.entries(entry))) this.stage(key, value);
  }

  /**
   * Writes what the method changed. Calls made without an await between them commit atomically,
   * so a state change and the outbox entries that record it land together or not at all.
   */
  private async save(): Promise<void> {
    const puts = Object.entries(this.staged);
    const deletes = [...this.stagedDeletes];
    this.staged = {};
    this.stagedDeletes = new Set();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < puts.length; i += STORAGE_CHUNK) {
      writes.push(this.ctx.storage.put(Object.fromEntries(puts.slice(i, i + STORAGE_CHUNK))));
    }
    for (let i = 0; i < deletes.length; i += STORAGE_CHUNK) {
      writes.push(this.ctx.storage.delete(deletes.slice(i, i + STORAGE_CHUNK)));
    }
    await Promise.all(writes);
    try {
      await this.outbox.flush();
    } catch (error) {
      console.error(
        JSON.stringify({
          msg: "D1 flush failed; the alarm retries",
          region: this.region,
          error: String(error),
        }),
      );
    }
    await this.armAlarm();
  }

  private async armAlarm(): Promise<void> {
    const busy = this.jobs.size > 0 || (await this.outbox.pending()) > 0;
    if (!busy || this.alarmAt !== null) return;
    this.alarmAt = Date.now() + SWEEP_INTERVAL_MS;
    await this.ctx.storage.setAlarm(this.alarmAt);
  }
}

function failureReason(report: AttemptReport & { type: "exited" }, timeoutSeconds: number): string {
  switch (report.reason) {
    case "timeout":
      return `timed out after ${timeoutSeconds} s`;
    case "error":
      return report.message ?? "the agent could not run the container";
    case "cancelled":
      return "stopped on the node";
    case "completed":
      return `exited with code ${report.exitCode ?? "unknown"}`;
  }
}
