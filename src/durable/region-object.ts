import { DurableObject } from "cloudflare:workers";
import { ledgerConfig } from "../ledger/ledger-config.js";
import type {
  AttemptReport,
  NodeMetrics,
  PollRequest,
  PollResponse,
  ReclaimRequest,
  RegisterRequest,
  RegisterResponse,
  ReportResponse,
} from "../shared/agent-protocol.js";
import type { NodeView, PlacementExplanation, QuoteView } from "../shared/api.js";
import { MeridianError } from "../shared/errors.js";
import { nodeIdForPublicKey } from "../shared/ids.js";
import type { JobSpec } from "../shared/job-spec.js";
import type { JobStatus } from "../shared/job-status.js";
import { encodeLogFrame } from "../shared/log-frames.js";
import type { LocationFact } from "../shared/node-location.js";
import type {
  ChallengeRelease,
  SpotCheckRequest,
  VerificationJudgement,
} from "../shared/verification/messages.js";
import { systemClock } from "./clock.js";
import { RegionTunnels } from "./endpoints/region-tunnels.js";
import type { BoardReplica } from "./endpoints/replica-board.js";
import { replicaChanged } from "./endpoints/replica-notify.js";
import type { PauseTerms } from "./job-pause.js";
import { type Timing, timingOf } from "./lease.js";
import { LogFollowers } from "./log-followers.js";
import { LogWriter } from "./log-writer.js";
import type { NodeHealth } from "./node-metrics.js";
import { nodeRecordOf } from "./node-registration.js";
import { RegionStanding } from "./node-standing.js";
import type { NonceGuard } from "./nonce-guard.js";
import { storedNonceGuard } from "./nonce-guard-storage.js";
import { Outbox } from "./outbox.js";
import { answerPoll } from "./poll-answer.js";
import { admitSession } from "./poll-session.js";
import { PollWaiters } from "./poll-waiters.js";
import { acceptPresence, closedPresence, presenceCaller } from "./presence-sockets.js";
import { composeRegion } from "./region-compose.js";
import type { AgentCaller, NodeRecord, SubmitOutcome, SubmitRequest } from "./region-records.js";
import { readStoredRegion } from "./region-snapshot.js";
import type { RegionState } from "./region-state.js";
import { submitJob } from "./region-submit.js";
import { explainJob, listNodes, type ProviderNodeView, providerNodeView, quoteSpec } from "./region-views.js";
import { RegionWriter } from "./region-writer.js";
import { type ReputationView, reputationPolicyOf } from "./reputation/index.js";
import { asResult, type RpcResult } from "./rpc-result.js";
import { budgetRunLimit } from "./run-limits.js";
import { STORAGE_KEYS } from "./storage-keys.js";

/** What the object builds once storage is read: the state machine and the standing it reads. */
interface Loaded {
  state: RegionState;
  standing: RegionStanding;
}

/**
 * One region as a Durable Object: the I/O shell around `RegionState`. It reads storage once at
 * start and composes the state from its parts, holds the agents' long-polls, answers the typed
 * methods the Worker calls through the stub, and after each step writes what the state staged
 * (with the D1 records it owes, in the outbox) before it replies. Its name is `ctx.id.name`.
 */
export class RegionObject extends DurableObject<Env> {
  private readonly timing: Timing;
  private readonly requireVerified: boolean;
  private readonly waiters = new PollWaiters();
  private readonly nonces: NonceGuard;
  private readonly outbox: Outbox;
  private readonly writer: RegionWriter;
  /** Endpoint replicas and the request streams to them over the nodes' presence sockets. */
  private readonly tunnels: RegionTunnels;
  private loaded: Loaded | null = null;
  /** Log batches to R2 (indexed in D1), pushed to whoever follows the job's logs. */
  private readonly followers = new LogFollowers();
  private readonly logs: LogWriter;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.timing = timingOf(env);
    // Deployments list only verified GPUs; local development and tests may admit unverified ones.
    this.requireVerified =
      String((env as { REQUIRE_VERIFIED_GPUS?: unknown }).REQUIRE_VERIFIED_GPUS ?? "true") !== "false";
    this.nonces = storedNonceGuard(ctx, Date.now());
    this.logs = new LogWriter(env, this.followers);
    this.outbox = new Outbox(ctx.storage, env.DB);
    this.writer = new RegionWriter(ctx.storage, this.outbox, this.timing.sweepMs, () => this.state.region);
    this.tunnels = new RegionTunnels(
      ctx,
      (attemptId, nodeId, fencing) => {
        const current = this.state.currentAttempt(attemptId, nodeId, fencing);
        const service = current?.job.service;
        return current && service ? { endpointId: service.endpointId, jobId: current.job.id } : undefined;
      },
      (replica) => ctx.waitUntil(replicaChanged(env, this.state.region, replica)),
    );
    void ctx.blockConcurrencyWhile(() => this.load());
  }

  private async load(): Promise<void> {
    const stored = await readStoredRegion(this.ctx.storage);
    const standing = RegionStanding.restore(
      stored.reputations,
      stored.verifications,
      this.requireVerified,
      reputationPolicyOf(this.env),
    );
    const name = this.ctx.id.name ?? stored.storedName ?? "";
    // Kept for wake-ups that carry no name: after a restart, the alarm may construct the object
    // before any named stub does, and `ctx.id.name` is then undefined.
    if (this.ctx.id.name !== undefined && stored.storedName !== this.ctx.id.name)
      await this.ctx.storage.put(STORAGE_KEYS.region, this.ctx.id.name);
    const choices = {
      clock: systemClock,
      timing: this.timing,
      standing,
      runLimit: budgetRunLimit,
      fees: ledgerConfig(this.env),
    };
    this.loaded = { state: composeRegion(name, choices, stored), standing };
    await this.writer.load();
  }

  /** Nothing runs before `load` (it runs inside `blockConcurrencyWhile` from the constructor). */
  private get parts(): Loaded {
    if (!this.loaded) throw new Error("the region object was used before it loaded");
    return this.loaded;
  }

  private get state(): RegionState {
    return this.parts.state;
  }

  private get standing(): RegionStanding {
    return this.parts.standing;
  }

  // ---- agent-facing methods ------------------------------------------------------------------

  async register(
    caller: AgentCaller,
    request: RegisterRequest,
    location?: LocationFact,
  ): Promise<RpcResult<RegisterResponse>> {
    return asResult(async () => {
      const now = Date.now();
      this.nonces.check(caller.nonce, caller.timestamp, now);
      const id = await nodeIdForPublicKey(caller.publicKey);
      admitSession(this.state.presence, id, request.session, now);
      const region = this.state.region;
      const registeredAt = this.state.nodes.get(id)?.registeredAt ?? now;
      const node = nodeRecordOf(id, caller, request, region, registeredAt, location);
      this.standing.desk.onRegistered(node, now);
      this.state.registerNode(node, now);
      await this.save();
      this.state.presence.requestAnswered(id, Date.now());
      const pacing = this.state.pacing();
      return { nodeId: id, region, pollWaitMs: this.timing.pollWaitMs, leaseTtlMs: pacing.leaseTtlMs };
    });
  }

  async poll(caller: AgentCaller, request: PollRequest): Promise<RpcResult<PollResponse>> {
    return asResult(async () => {
      const now = Date.now();
      const node = this.authenticate(caller, now);
      admitSession(this.state.presence, node.id, request.session, now);
      if (request.metrics && this.standing.addMetrics(node, request.metrics))
        this.state.standingChanged([node.id], now);
      return answerPoll(
        {
          state: this.state,
          waiters: this.waiters,
          pollWaitMs: this.timing.pollWaitMs,
          challengesFor: (nodeId, at) => this.standing.desk.challengesFor(nodeId, at),
          save: () => this.save(),
        },
        node.id,
        caller.nonce,
        request,
      );
    });
  }

  /**
   * The Worker saw the connection of a held poll close before its answer (the request's abort
   * signal): the node has the reconnect window to poll again before its attempts are lost.
   */
  async pollDropped(nodeId: string, token: string): Promise<RpcResult<{ dropped: boolean }>> {
    return asResult(async () => {
      const now = Date.now();
      if (!this.state.nodes.has(nodeId)) return { dropped: false };
      this.waiters.drop(nodeId, token);
      const dropped = this.state.pollDropped(nodeId, token, now);
      await this.save();
      return { dropped };
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
      this.state.report(job, member, report, now);
      if (report.type === "logs") await this.logs.write(job.id, member.id, report.chunks);
      else await this.save();
      return { accepted: true, stop: report.type === "exited" || member.stopping !== null };
    });
  }

  /** A restarted agent asks which of the attempt containers it found are still its node's. */
  async reclaim(
    caller: AgentCaller,
    request: ReclaimRequest,
  ): Promise<RpcResult<ReturnType<RegionState["reclaim"]>>> {
    return asResult(async () => {
      const now = Date.now();
      const node = this.authenticate(caller, now);
      admitSession(this.state.presence, node.id, request.session, now);
      const answer = this.state.reclaim(node.id, request.attempts, now);
      await this.save();
      this.state.presence.requestAnswered(node.id, Date.now());
      return answer;
    });
  }

  /**
   * The job behind an attempt this node holds under this fencing number: the Worker's storage
   * routes hand out secrets and URLs only for a current lease.
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

  /** A node's presence socket (see presence-sockets.ts), forwarded by the Worker after its checks. */
  override async fetch(request: Request): Promise<Response> {
    if (RegionTunnels.isTunnelRequest(request)) return this.tunnels.forward(request);
    const caller = presenceCaller(request);
    if (!caller || request.headers.get("upgrade") !== "websocket") return new Response(null, { status: 400 });
    const result = await asResult(async () => {
      const node = this.authenticate(caller, Date.now());
      admitSession(this.state.presence, node.id, caller.session, Date.now());
      return node;
    });
    if (!result.ok)
      return Response.json(
        { error: { code: result.code, message: result.message } },
        { status: result.status },
      );
    this.state.heard(result.value.id, Date.now());
    return acceptPresence(this.ctx, result.value.id);
  }

  /** Tunnel frames from the agent (see endpoints/region-tunnels.ts). */
  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.tunnels.message(socket, message);
  }

  override async webSocketClose(socket: WebSocket): Promise<void> {
    await this.tunnels.socketClosed(socket, this.ctx.getTags(socket)[0]);
    await this.presenceLost(socket);
  }

  override async webSocketError(socket: WebSocket): Promise<void> {
    await this.tunnels.socketClosed(socket, this.ctx.getTags(socket)[0]);
    await this.presenceLost(socket);
  }

  /** An endpoint scales a replica away: it takes no new requests (the endpoint cancels it when idle). */
  async drainReplica(attemptId: string): Promise<RpcResult<boolean>> {
    return asResult(() => this.tunnels.drain(attemptId));
  }

  /** An endpoint's replicas on this region's nodes, as their agents last reported them. */
  async endpointReplicas(endpointId: string): Promise<RpcResult<BoardReplica[]>> {
    return asResult(() => this.tunnels.replicas(endpointId));
  }

  /** The agent's presence socket closed: its held polls are gone too, and the reconnect window starts. */
  private async presenceLost(socket: WebSocket): Promise<void> {
    const nodeId = closedPresence(this.ctx, socket);
    if (nodeId === undefined || !this.state.nodes.has(nodeId)) return;
    this.waiters.dropAll(nodeId);
    this.state.connectionLost(nodeId, Date.now());
    await this.save();
  }

  // ---- provider- and operator-facing methods -------------------------------------------------

  /** What a provider sees of its node: standing, verification, reputation with its parts, health, work. */
  async providerNode(nodeId: string): Promise<RpcResult<ProviderNodeView>> {
    return asResult(async () => providerNodeView(this.state, this.standing, nodeId, Date.now()));
  }

  async nodeMetrics(
    nodeId: string,
  ): Promise<RpcResult<{ series: readonly NodeMetrics[]; health: NodeHealth }>> {
    return asResult(async () => {
      const node = this.state.nodes.get(nodeId);
      if (!node) throw new MeridianError(404, "node_not_found", `no node ${nodeId}`);
      return { series: this.standing.metrics.series(nodeId), health: this.standing.health(nodeId, node) };
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
      this.state.standingChanged([nodeId], now);
      await this.save();
      return view;
    });
  }

  /**
   * The Worker found GPU `uuid` of `nodeId` also on `twin`, a node of another region. Answers
   * whether this region knows the node and GPU (a node it forgot is no twin); if so the GPU turns
   * suspect and the node may take no work until the operator lifts it.
   */
  async foreignTwin(
    nodeId: string,
    uuid: string,
    twin: { nodeId: string; region: string },
  ): Promise<RpcResult<{ known: boolean }>> {
    return asResult(async () => {
      const now = Date.now();
      if (!this.state.nodes.has(nodeId)) return { known: false };
      const known = this.standing.desk.markForeignTwin(nodeId, uuid, twin);
      if (known) {
        this.state.standingChanged([nodeId], now);
        await this.save();
      }
      return { known };
    });
  }

  /**
   * The refund sweep found `count` charged attempts of this node failed where the same spec then
   * succeeded elsewhere: each counts against the node as an agent error would.
   */
  async faultFound(nodeId: string, count: number): Promise<RpcResult<ReputationView>> {
    return asResult(async () => {
      const now = Date.now();
      if (!this.state.nodes.has(nodeId)) throw new MeridianError(404, "node_not_found", `no node ${nodeId}`);
      for (let i = 0; i < count; i++)
        this.standing.book.record(nodeId, { type: "attempt", end: "agent_error" }, now);
      this.state.standingChanged([nodeId], now);
      await this.save();
      return this.standing.book.view(nodeId, now);
    });
  }

  // ---- user-facing methods -------------------------------------------------------------------

  /**
   * A user's job, in one call: admitted (its row, first event and hold in D1, written here, the
   * `jobs` table's only writer), queued, placed if it fits now; the answer says where it went or
   * why it waits.
   */
  async submit(request: SubmitRequest): Promise<RpcResult<SubmitOutcome>> {
    return asResult(() =>
      submitJob(
        { env: this.env, state: this.state, rentable: () => this.rentable(), save: () => this.save() },
        request,
      ),
    );
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

  /**
   * The job's log batches from now on, pushed as they are stored (log-frames.ts), ending when the
   * job leaves the region; at once for a job that already has.
   */
  async followLogs(jobId: string): Promise<ReadableStream<Uint8Array>> {
    if (this.state.jobs.has(jobId)) return this.followers.follow(jobId);
    const bytes = new TextEncoder().encode(encodeLogFrame({ end: true }));
    return new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes);
        controller.close();
      },
    });
  }

  /** Pauses a running job (job-pause.ts); the answer is its status now (still `running` while it stops). */
  async pause(jobId: string, terms: PauseTerms): Promise<RpcResult<{ status: JobStatus }>> {
    return asResult(async () => {
      const job = this.state.jobs.get(jobId);
      if (!job) throw new MeridianError(409, "job_finished", "the job has already ended");
      this.state.pause(job, terms, Date.now());
      await this.save();
      return { status: job.status };
    });
  }

  /** Queues a paused job again; it restores its checkpoint on whichever node takes it. */
  async resume(jobId: string): Promise<RpcResult<{ status: JobStatus }>> {
    return asResult(async () => {
      const job = this.state.jobs.get(jobId);
      if (!job) throw new MeridianError(409, "job_finished", "the job has already ended");
      this.state.resume(job, Date.now());
      await this.save();
      return { status: job.status };
    });
  }

  /** The Worker committed a checkpoint of this job (its size is what a pause keeps stored). */
  async checkpointStored(jobId: string, seq: number, bytes: number): Promise<void> {
    this.state.checkpointStored(jobId, seq, bytes);
    await this.save();
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

  async quote(spec: JobSpec): Promise<RpcResult<QuoteView>> {
    return asResult(async () => quoteSpec(this.state, spec, Date.now()));
  }

  /** The nodes users may rent from: with verification required, only GPU nodes that proved their GPUs. */
  async listNodes(): Promise<RpcResult<NodeView[]>> {
    return asResult(async () => this.rentable());
  }

  async nodeCount(): Promise<RpcResult<number>> {
    return asResult(async () => this.state.nodes.size);
  }

  // ---- timed work ----------------------------------------------------------------------------

  /** Expires lapsed leases, parks silent nodes, retries D1 records and re-places work. Idempotent. */
  override async alarm(): Promise<void> {
    this.writer.alarmFired();
    const now = Date.now();
    this.judged(this.standing.desk.expire(now), now);
    for (const nodeId of this.standing.desk.dueNodes(now)) this.waiters.wake(nodeId);
    this.state.sweep(now);
    await this.save();
  }

  private judged(judgements: readonly VerificationJudgement[], now: number): void {
    for (const judgement of judgements) this.standing.judged(judgement, now);
    if (judgements.length > 0) this.state.standingChanged(new Set(judgements.map((j) => j.nodeId)), now);
  }

  // ---- internals -----------------------------------------------------------------------------

  private rentable(): NodeView[] {
    return listNodes(this.state, Date.now(), this.standing).filter(
      (node) => !this.requireVerified || node.gpus.length === 0 || node.verification === "verified",
    );
  }

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

  /** Writes what the step staged, wakes the polls it concerns, then sends D1 its records. */
  private async save(): Promise<void> {
    const step = {
      effects: this.state.drainEffects(),
      standing: this.standing.takeChanges(),
      nextWakeAt: (now: number) => this.nextWakeAt(now),
    };
    await this.writer.write(step);
    for (const nodeId of step.effects.wake) this.waiters.wake(nodeId);
    // A job that left the region writes no more logs: its followers are told, then closed.
    for (const jobId of this.followers.jobs()) if (!this.state.jobs.has(jobId)) this.followers.end(jobId);
    this.logs.forgetAllBut((jobId) => this.state.jobs.has(jobId));
    await this.writer.flushAndArm(step);
  }

  private nextWakeAt(now: number): number | null {
    let next = this.state.nextWakeAt(now);
    for (const at of [this.standing.desk.nextWakeAt(), this.standing.book.nextChangeAt(now)]) {
      if (at !== undefined) next = Math.min(next ?? Number.POSITIVE_INFINITY, Math.max(at, now + 1_000));
    }
    return next;
  }
}
