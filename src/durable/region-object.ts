import { DurableObject } from "cloudflare:workers";
import { holdPlan, holdTermsOf } from "../ledger/hold-plan.js";
import { ledgerConfig } from "../ledger/ledger-config.js";
import { runLimitSeconds } from "../ledger/run-limit.js";
import type {
  AttemptReport,
  NodeMetrics,
  PollRequest,
  PollResponse,
  RegisterRequest,
  RegisterResponse,
  ReportResponse,
} from "../shared/agent-protocol.js";
import type { NodeView, PlacementExplanation, QuoteView } from "../shared/api.js";
import { MeridianError } from "../shared/errors.js";
import { gpuModelForReportedName } from "../shared/gpu-catalog.js";
import { nodeIdForPublicKey } from "../shared/ids.js";
import type { JobSpec } from "../shared/job-spec.js";
import type { JobStatus } from "../shared/job-status.js";
import type {
  ChallengeRelease,
  SpotCheckRequest,
  VerificationJudgement,
} from "../shared/verification/messages.js";
import { mergeEffects } from "./effects.js";
import { type Timing, timingOf } from "./lease.js";
import { writeLogs } from "./log-writer.js";
import type { NodeHealth } from "./node-metrics.js";
import { REPUTATION_KEY, RegionStanding, VERIFICATION_KEY } from "./node-standing.js";
import { NonceGuard } from "./nonce-guard.js";
import { Outbox } from "./outbox.js";
import { jittered } from "./poll-pacing.js";
import { PollWaiters } from "./poll-waiters.js";
import { type AgentCaller, type NodeRecord, normalizeJob, type SubmittedJob } from "./region-records.js";
import { FENCING_KEY, JOB_KEY, NODE_KEY, REGION_KEY, RegionState } from "./region-state.js";
import { explainJob, listNodes, quoteSpec } from "./region-views.js";
import type { ReputationState, ReputationView } from "./reputation/index.js";
import { asResult, type RpcResult } from "./rpc-result.js";
import { stripPrefix, writeEntries } from "./storage-writes.js";
import type { NodeVerification } from "./verification/node-verification.js";
import type { VerificationStatus } from "./verification-desk.js";

/**
 * One region: its nodes, queue, leases and placements, as a Durable Object whose methods the
 * Worker calls through the stub. The state machine is `RegionState`; this shell loads it from
 * storage, holds the agents' long-polls, and writes what each step changed (with the D1 records
 * it owes, in the outbox) before it replies.
 */
export class RegionObject extends DurableObject<Env> {
  private readonly timing: Timing;
  private readonly state: RegionState;
  private standing: RegionStanding;
  private readonly requireVerified: boolean;
  private readonly waiters = new PollWaiters();
  private readonly nonces: NonceGuard;
  private readonly outbox: Outbox;
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.timing = timingOf(env);
    this.state = new RegionState(this.timing, ledgerConfig(env));
    // An attempt runs until its timeout, or until what is left of its job's hold is spent.
    this.state.runLimitSeconds = (job, member) =>
      runLimitSeconds({
        holdMicros: holdPlan(holdTermsOf(job.spec)).holdMicros,
        spentMicros: job.spentMicros,
        pricePerGpuHourMicros: member.pricePerGpuHourMicros,
        gpus: member.gpuUuids.length,
        billing: job.spec.billing,
        timeoutSeconds: job.spec.timeoutSeconds,
        maxHours: job.spec.budget?.maxHours,
        members: job.members.length,
      });
    // Deployments list only verified GPUs; local development and tests may admit unverified ones.
    this.requireVerified =
      String((env as { REQUIRE_VERIFIED_GPUS?: unknown }).REQUIRE_VERIFIED_GPUS ?? "true") !== "false";
    // Replaced by what storage holds as soon as `load` runs; no method runs before it.
    this.standing = RegionStanding.restore({}, {}, this.requireVerified, (id) => this.state.nodes.get(id));
    this.nonces = new NonceGuard(Date.now());
    this.outbox = new Outbox(ctx.storage, env.DB);
    void ctx.blockConcurrencyWhile(() => this.load());
  }

  private async load(): Promise<void> {
    const storage = this.ctx.storage;
    const region = (await storage.get<string>(REGION_KEY)) ?? "";
    const fencing = (await storage.get<number>(FENCING_KEY)) ?? 0;
    const nodes = (await storage.list<NodeRecord>({ prefix: NODE_KEY })).values();
    const jobs = [
      ...(await storage.list<Parameters<typeof normalizeJob>[0]>({ prefix: JOB_KEY })).values(),
    ].map(normalizeJob);
    const reputations = stripPrefix(
      await storage.list<ReputationState>({ prefix: REPUTATION_KEY }),
      REPUTATION_KEY,
    );
    const verifications = stripPrefix(
      await storage.list<NodeVerification>({ prefix: VERIFICATION_KEY }),
      VERIFICATION_KEY,
    );
    this.standing = RegionStanding.restore(reputations, verifications, this.requireVerified, (id) =>
      this.state.nodes.get(id),
    );
    this.state.standing = this.standing;
    this.state.restore(region, fencing, nodes, jobs, Date.now());
    await this.outbox.load();
    this.alarmAt = await storage.getAlarm();
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
      const id = await nodeIdForPublicKey(caller.publicKey);
      this.state.setRegion(region);
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
        registeredAt: this.state.nodes.get(id)?.registeredAt ?? now,
        payoutWallet: request.payoutWallet,
        benchmark: request.benchmark,
      };
      this.standing.desk.onRegistered(node, now);
      this.state.registerNode(node, now);
      await this.save();
      const pacing = this.state.pacing();
      return { nodeId: id, region, pollWaitMs: this.timing.pollWaitMs, leaseTtlMs: pacing.leaseTtlMs };
    });
  }

  async poll(caller: AgentCaller, request: PollRequest): Promise<RpcResult<PollResponse>> {
    return asResult(async () => {
      const now = Date.now();
      const node = this.authenticate(caller, now);
      if (request.metrics && this.standing.addMetrics(node.id, request.metrics)) {
        this.state.refreshNode(node.id, now);
        this.state.schedule(now);
      }
      const stop = this.state.heartbeat(node.id, request.acceptingWork, request.running, request.rttMs, now);
      let challenges = this.standing.desk.challengesFor(node.id, now);
      await this.save();
      const taken = new Set(request.running.map((r) => r.attemptId));
      let work = this.state.workFor(node.id, taken, now);
      const idle =
        work.assignments.length === 0 &&
        work.stop.length === 0 &&
        stop.length === 0 &&
        challenges.length === 0;
      if (idle) {
        const wait = Math.min(request.waitMs ?? this.timing.pollWaitMs, this.timing.pollWaitMs);
        await this.waiters.wait(node.id, wait);
        // Still live while it waited: the held poll is the heartbeat.
        const stopAfter = this.state.heartbeat(
          node.id,
          request.acceptingWork,
          request.running,
          undefined,
          Date.now(),
        );
        for (const order of stopAfter)
          if (!stop.some((s) => s.attemptId === order.attemptId)) stop.push(order);
        work = this.state.workFor(node.id, taken, Date.now());
        challenges = this.standing.desk.challengesFor(node.id, Date.now());
        if (challenges.length > 0) await this.save();
      }
      const quiet =
        work.assignments.length === 0 &&
        work.stop.length === 0 &&
        stop.length === 0 &&
        challenges.length === 0;
      return {
        assignments: work.assignments,
        stop: [...stop, ...work.stop],
        challenges,
        nextPollDelayMs: quiet ? jittered(this.state.pacing().pauseMs) : 0,
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
      const current = this.state.currentAttempt(attemptId, node.id, report.fencing);
      if (!current)
        throw new MeridianError(409, "stale_lease", "this attempt's lease is no longer current; stop it");
      const { job, member } = current;
      this.state.renewLease(member.id, now);
      switch (report.type) {
        case "started":
          this.state.started(job, member, now);
          await this.save();
          break;
        case "logs":
          await writeLogs(this.env.DB, job.id, member.id, report.chunks);
          break;
        case "exited":
          this.state.exited(job, member, report, now);
          await this.save();
          return { accepted: true, stop: true };
      }
      return { accepted: true, stop: member.stopping !== null };
    });
  }

  /**
   * The job behind an attempt this node holds under this fencing number: the Worker's storage
   * routes hand out secrets and URLs only for a current lease. Renews the lease (a sign of life).
   */
  async attemptOf(
    caller: AgentCaller,
    attemptId: string,
    fencing: number,
  ): Promise<RpcResult<{ jobId: string; accountId: string; spec: JobSpec; attempts: number; rank: number }>> {
    return asResult(async () => {
      const now = Date.now();
      const node = this.authenticate(caller, now);
      const current = this.state.currentAttempt(attemptId, node.id, fencing);
      if (!current)
        throw new MeridianError(409, "stale_lease", "this attempt's lease is no longer current; stop it");
      this.state.renewLease(current.member.id, now);
      const { job, member } = current;
      return {
        jobId: job.id,
        accountId: job.accountId,
        spec: job.spec,
        attempts: job.attempts,
        rank: member.rank,
      };
    });
  }

  /** The agent has prepared for a challenge: it gets the seed, and the commit window starts. */
  async readyChallenge(
    caller: AgentCaller,
    challengeId: string,
    body: unknown,
  ): Promise<RpcResult<ChallengeRelease>> {
    return asResult(async () => {
      const now = Date.now();
      const node = this.authenticate(caller, now);
      const release = this.standing.desk.ready(node.id, challengeId, body, now);
      // save() re-arms the alarm: it must now wake at the commit deadline, before the setup one.
      await this.save();
      return release;
    });
  }

  /** The agent committed to a challenge's result: it gets the spot checks to answer. */
  async commitChallenge(
    caller: AgentCaller,
    challengeId: string,
    body: unknown,
  ): Promise<RpcResult<SpotCheckRequest>> {
    return asResult(async () => {
      const now = Date.now();
      const node = this.authenticate(caller, now);
      const request = this.standing.desk.commit(node.id, challengeId, body, now);
      await this.save();
      return request;
    });
  }

  /** The agent opened the rows asked for: the GPU is judged, and the node's standing follows. */
  async answerChallenge(
    caller: AgentCaller,
    challengeId: string,
    body: unknown,
  ): Promise<RpcResult<{ outcome: VerificationJudgement["outcome"]; judgement: VerificationJudgement }>> {
    return asResult(async () => {
      const now = Date.now();
      const node = this.authenticate(caller, now);
      const judgement = await this.standing.desk.answer(node.id, challengeId, body, Date.now());
      this.judged([judgement], Date.now());
      await this.save();
      return { outcome: judgement.outcome, judgement };
    });
  }

  // ---- provider- and operator-facing methods -------------------------------------------------

  /** What a provider sees of its node: standing, verification, reputation with its parts, health, work. */
  async providerNode(nodeId: string): Promise<
    RpcResult<{
      node: NodeView;
      verification: VerificationStatus | null;
      reputation: ReputationView;
      health: NodeHealth;
      jobs: { jobId: string; attemptId: string; status: JobStatus }[];
    }>
  > {
    return asResult(async () => {
      const now = Date.now();
      const view = listNodes(this.state, now, this.standing).find((n) => n.id === nodeId);
      if (!view) throw new MeridianError(404, "node_not_found", `no node ${nodeId} in this region`);
      return {
        node: view,
        verification: view.gpus.length === 0 ? null : (this.standing.desk.status(nodeId) ?? null),
        reputation: this.standing.book.view(nodeId, now),
        health: this.standing.health(nodeId),
        jobs: this.state.jobsOnNode(nodeId),
      };
    });
  }

  async nodeMetrics(
    nodeId: string,
  ): Promise<RpcResult<{ series: readonly NodeMetrics[]; health: NodeHealth }>> {
    return asResult(async () => {
      if (!this.state.nodes.has(nodeId)) throw new MeridianError(404, "node_not_found", `no node ${nodeId}`);
      return { series: this.standing.metrics.series(nodeId), health: this.standing.health(nodeId) };
    });
  }

  /** An operator lifts a node's quarantine or expulsion. */
  async lift(nodeId: string): Promise<RpcResult<ReputationView>> {
    return asResult(async () => {
      const now = Date.now();
      if (!this.state.nodes.has(nodeId)) throw new MeridianError(404, "node_not_found", `no node ${nodeId}`);
      const view = this.standing.book.lift(nodeId, now);
      // A node delisted for a failed verification gets a fresh chance to prove its GPUs.
      this.standing.desk.requestVerification(nodeId, now);
      this.waiters.wake(nodeId);
      this.state.refreshNode(nodeId, now);
      this.state.schedule(now);
      await this.save();
      return view;
    });
  }

  // ---- user-facing methods -------------------------------------------------------------------

  async submit(region: string, submitted: SubmittedJob): Promise<RpcResult<{ status: JobStatus }>> {
    return asResult(async () => {
      const now = Date.now();
      this.state.setRegion(region);
      this.state.submit(
        {
          ...submitted,
          status: "queued",
          seq: 1,
          attempts: 0,
          members: [],
          excludedNodes: [],
          retryAt: null,
          spentMicros: 0,
        },
        now,
      );
      await this.save();
      return { status: this.state.jobs.get(submitted.id)?.status ?? "queued" };
    });
  }

  async cancel(jobId: string): Promise<RpcResult<{ status: JobStatus }>> {
    return asResult(async () => {
      const job = this.state.jobs.get(jobId);
      if (!job) throw new MeridianError(409, "job_finished", "the job has already ended");
      if (job.status === "cancelled") return { status: job.status };
      this.state.cancel(job, Date.now());
      await this.save();
      return { status: "cancelled" as const };
    });
  }

  /** Why each of these jobs is still queued; jobs that are not queued here are left out. */
  async explanations(jobIds: string[]): Promise<RpcResult<Record<string, PlacementExplanation>>> {
    return asResult(async () => {
      const now = Date.now();
      const out: Record<string, PlacementExplanation> = {};
      for (const id of jobIds) {
        const job = this.state.jobs.get(id);
        const explanation = job ? explainJob(this.state, job, now) : null;
        if (explanation) out[id] = explanation;
      }
      return out;
    });
  }

  async quote(region: string, spec: JobSpec): Promise<RpcResult<QuoteView>> {
    return asResult(async () => {
      this.state.setRegion(region);
      return quoteSpec(this.state, spec, Date.now());
    });
  }

  /** The nodes users may rent from: with verification required, only GPU nodes that proved their GPUs. */
  async listNodes(): Promise<RpcResult<NodeView[]>> {
    return asResult(async () =>
      listNodes(this.state, Date.now(), this.standing).filter(
        (node) => !this.requireVerified || node.gpus.length === 0 || node.verification === "verified",
      ),
    );
  }

  /** How many registered nodes this region holds (for refusing a gang no region could ever fit). */
  async nodeCount(): Promise<RpcResult<number>> {
    return asResult(async () => this.state.nodes.size);
  }

  // ---- timed work ----------------------------------------------------------------------------

  /** Expires lapsed leases, parks silent nodes, retries D1 records and re-places work. Idempotent. */
  override async alarm(): Promise<void> {
    this.alarmAt = null;
    const now = Date.now();
    this.judged(this.standing.desk.expire(now), now);
    // Nodes whose standing changed (a quarantine began or ended) are indexed again; the others are not touched.
    for (const nodeId of this.state.nodes.keys()) {
      if (this.state.standingChanged(nodeId, now)) this.state.refreshNode(nodeId, now);
    }
    for (const nodeId of this.standing.desk.dueNodes(now)) this.waiters.wake(nodeId);
    this.state.sweep(now);
    await this.save();
  }

  private judged(judgements: readonly VerificationJudgement[], now: number): void {
    for (const judgement of judgements) {
      this.standing.judged(judgement, now);
      this.state.refreshNode(judgement.nodeId, now);
    }
    if (judgements.length > 0) this.state.schedule(now);
  }

  // ---- internals -----------------------------------------------------------------------------

  private authenticate(caller: AgentCaller, now: number): NodeRecord {
    this.nonces.check(caller.nonce, caller.timestamp, now);
    const node = caller.nodeId ? this.state.nodes.get(caller.nodeId) : undefined;
    if (!node || node.publicKey !== caller.publicKey) {
      throw new MeridianError(
        401,
        "unknown_node",
        "this node is not registered in this region; register first",
      );
    }
    return node;
  }

  /**
   * Writes what the state machine changed. Calls made without an await between them commit
   * atomically, so a state change and the outbox entries that record it land together or not at
   * all; then the outbox is sent to D1 and the affected polls are woken.
   */
  private async save(): Promise<void> {
    const now = Date.now();
    let effects = this.state.drainEffects();
    if (effects.nodeEvents.length > 0) {
      for (const event of effects.nodeEvents) this.standing.observe(event);
      // A node whose standing changed (quarantined, say) is re-indexed before anything else is placed.
      for (const nodeId of new Set(effects.nodeEvents.map((e) => e.nodeId)))
        this.state.refreshNode(nodeId, now);
      this.state.schedule(now);
      effects = mergeEffects(effects, this.state.drainEffects());
    }
    const standing = this.standing.takeChanges();
    const puts: [string, unknown][] = [...effects.puts, ...standing.puts];
    for (const [key, value] of Object.entries(this.outbox.entries(...effects.outbox)))
      puts.push([key, value]);
    await writeEntries(this.ctx.storage, puts, [...effects.deletes, ...standing.deletes]);
    for (const nodeId of effects.wake) this.waiters.wake(nodeId);
    // Also after a restart: records staged before it are still owed to D1.
    if (effects.outbox.length > 0 || this.outbox.pending() > 0) {
      try {
        await this.outbox.flush();
      } catch (error) {
        console.error(
          JSON.stringify({
            msg: "D1 flush failed; the alarm retries",
            region: this.state.region,
            error: String(error),
          }),
        );
      }
    }
    await this.armAlarm();
  }

  private async armAlarm(): Promise<void> {
    const now = Date.now();

    let next = this.state.nextWakeAt(now);
    for (const at of [this.standing.desk.nextWakeAt(), this.standing.book.nextChangeAt(now)]) {
      if (at !== undefined) next = Math.min(next ?? Number.POSITIVE_INFINITY, Math.max(at, now + 1_000));
    }
    if (this.outbox.pending() > 0)
      next = Math.min(next ?? Number.POSITIVE_INFINITY, now + this.timing.sweepMs);
    if (next === null || (this.alarmAt !== null && this.alarmAt <= next)) return;
    this.alarmAt = next;
    await this.ctx.storage.setAlarm(next);
  }
}
