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
import type { JobSpec } from "../shared/job-spec.js";
import type { JobStatus } from "../shared/job-status.js";
import type { LocationFact } from "../shared/node-location.js";
import type { StakeTier } from "../shared/staking-api.js";
import type {
  ChallengeRelease,
  SpotCheckRequest,
  VerificationJudgement,
} from "../shared/verification/messages.js";
import { AgentCalls, type AttemptOf } from "./agent-calls.js";
import { ChallengeCalls } from "./challenge-calls.js";
import { systemClock } from "./clock.js";
import type { BoardReplica } from "./endpoints/replica-board.js";
import { JobControls } from "./job-controls.js";
import type { PauseTerms } from "./job-pause.js";
import { type Timing, timingOf } from "./lease.js";
import type { NodeHealth } from "./node-metrics.js";
import type { ReclaimAnswer } from "./node-reclaim.js";
import { RegionStanding } from "./node-standing.js";
import type { NonceGuard } from "./nonce-guard.js";
import { storedNonceGuard } from "./nonce-guard-storage.js";
import { Outbox, type OutboxEntry } from "./outbox.js";
import { PollWaiters } from "./poll-waiters.js";
import { composeRegion } from "./region-compose.js";
import type { RegionContext } from "./region-context.js";
import { RegionLogs } from "./region-logs.js";
import type { AgentCaller, SubmitOutcome, SubmitRequest } from "./region-records.js";
import { type ShardPlace, shardPlaceOf } from "./region-shard.js";
import { readStoredRegion } from "./region-snapshot.js";
import { RegionSockets } from "./region-sockets.js";
import type { RegionState } from "./region-state.js";
import { submitJob } from "./region-submit.js";
import { explainJob, listNodes, type ProviderNodeView, quoteSpec } from "./region-views.js";
import { RegionWriter } from "./region-writer.js";
import { type ReputationView, reputationPolicyOf } from "./reputation/index.js";
import { asResult, type RpcResult } from "./rpc-result.js";
import { budgetRunLimit } from "./run-limits.js";
import { type ShardSummary, summarise } from "./scheduler/index.js";
import { StandingCalls } from "./standing-calls.js";
import { STORAGE_KEYS } from "./storage-keys.js";
import { d1DeviceRegistry } from "./verification/device-registry.js";

/** What the object builds once storage is read: the state machine and the standing it reads. */
interface Loaded {
  state: RegionState;
  standing: RegionStanding;
  shard: ShardPlace;
}

/**
 * One region as a Durable Object: the I/O shell around `RegionState`. It reads storage once at
 * start and composes the state from its parts, holds the agents' long-polls, answers the typed
 * methods the Worker calls through the stub, and after each step writes what the state staged
 * (with the D1 records it owes, in the outbox) before it replies. Its name is `ctx.id.name`.
 * Each kind of call is answered by its own module; this class is the RPC surface and the save.
 */
export class RegionObject extends DurableObject<Env> {
  private readonly timing: Timing;
  private readonly requireVerified: boolean;
  private readonly waiters = new PollWaiters();
  private readonly nonces: NonceGuard;
  private readonly outbox: Outbox;
  private readonly writer: RegionWriter;
  private loaded: Loaded | null = null;
  private readonly logs: RegionLogs;
  private readonly sockets: RegionSockets;
  private readonly agents: AgentCalls;
  private readonly challenges: ChallengeCalls;
  private readonly standings: StandingCalls;
  private readonly controls: JobControls;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.timing = timingOf(env);
    // Deployments list only verified GPUs; local development and tests may admit unverified ones.
    this.requireVerified =
      String((env as { REQUIRE_VERIFIED_GPUS?: unknown }).REQUIRE_VERIFIED_GPUS ?? "true") !== "false";
    this.nonces = storedNonceGuard(ctx, Date.now());
    this.logs = new RegionLogs(env);
    this.outbox = new Outbox(ctx.storage, env.DB);
    this.writer = new RegionWriter(ctx.storage, this.outbox, this.timing.sweepMs, () => this.state.region);
    const context = (): RegionContext => this.context;
    this.sockets = new RegionSockets(ctx, env, context);
    this.agents = new AgentCalls(context, this.logs, env);
    this.challenges = new ChallengeCalls(context, d1DeviceRegistry(env.DB));
    this.standings = new StandingCalls(context);
    this.controls = new JobControls(context);
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
    // `<region>` or, in a sharded region, `<region>#<k>`: the state is the region's, the shard its slice.
    const shard = shardPlaceOf(this.env, name);
    this.loaded = { state: composeRegion(shard.region, choices, stored), standing, shard };
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

  /** What the call modules work on (read when a call runs, after load). */
  private get context(): RegionContext {
    const { state, standing, shard } = this.parts;
    const { waiters, nonces, timing } = this;
    return { state, standing, waiters, nonces, timing, shard, save: () => this.save() };
  }

  // ---- agent-facing methods (agent-calls.ts, challenge-calls.ts, region-sockets.ts) -----------

  async register(
    caller: AgentCaller,
    request: RegisterRequest,
    location?: LocationFact,
  ): Promise<RpcResult<RegisterResponse>> {
    return asResult(() => this.agents.register(caller, request, location));
  }

  async poll(caller: AgentCaller, request: PollRequest): Promise<RpcResult<PollResponse>> {
    return asResult(() => this.agents.poll(caller, request));
  }

  /**
   * The Worker saw the connection of a held poll close before its answer (the request's abort
   * signal): the node has the reconnect window to poll again before its attempts are lost.
   */
  async pollDropped(nodeId: string, token: string): Promise<RpcResult<{ dropped: boolean }>> {
    return asResult(() => this.agents.pollDropped(nodeId, token));
  }

  async report(
    caller: AgentCaller,
    attemptId: string,
    report: AttemptReport,
  ): Promise<RpcResult<ReportResponse>> {
    return asResult(() => this.agents.report(caller, attemptId, report));
  }

  /** A restarted agent asks which of the attempt containers it found are still its node's. */
  async reclaim(caller: AgentCaller, request: ReclaimRequest): Promise<RpcResult<ReclaimAnswer>> {
    return asResult(() => this.agents.reclaim(caller, request));
  }

  /**
   * The job behind an attempt this node holds under this fencing number: the Worker's storage
   * routes hand out secrets and URLs only for a current lease.
   */
  async attemptOf(caller: AgentCaller, attemptId: string, fencing: number): Promise<RpcResult<AttemptOf>> {
    return asResult(() => this.agents.attemptOf(caller, attemptId, fencing));
  }

  async readyChallenge(
    caller: AgentCaller,
    challengeId: string,
    body: unknown,
  ): Promise<RpcResult<ChallengeRelease>> {
    return asResult(() => this.challenges.ready(caller, challengeId, body));
  }

  async commitChallenge(
    caller: AgentCaller,
    challengeId: string,
    body: unknown,
  ): Promise<RpcResult<SpotCheckRequest>> {
    return asResult(() => this.challenges.commit(caller, challengeId, body));
  }

  async answerChallenge(
    caller: AgentCaller,
    challengeId: string,
    body: unknown,
  ): Promise<RpcResult<{ outcome: VerificationJudgement["outcome"]; judgement: VerificationJudgement }>> {
    return asResult(() => this.challenges.answer(caller, challengeId, body));
  }

  /** A node's presence socket, or an endpoint's tunnel request. */
  override async fetch(request: Request): Promise<Response> {
    return this.sockets.fetch(request);
  }

  override async webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): Promise<void> {
    await this.sockets.message(socket, message);
  }

  override async webSocketClose(socket: WebSocket): Promise<void> {
    await this.sockets.closed(socket);
  }

  override async webSocketError(socket: WebSocket): Promise<void> {
    await this.sockets.closed(socket);
  }

  async drainReplica(attemptId: string): Promise<RpcResult<boolean>> {
    return asResult(() => this.sockets.drain(attemptId));
  }

  async endpointReplicas(endpointId: string): Promise<RpcResult<BoardReplica[]>> {
    return asResult(() => this.sockets.replicas(endpointId));
  }

  // ---- provider- and operator-facing methods (standing-calls.ts) -----------------------------

  async providerNode(nodeId: string): Promise<RpcResult<ProviderNodeView>> {
    return asResult(() => this.standings.providerNode(nodeId));
  }

  async nodeMetrics(
    nodeId: string,
  ): Promise<RpcResult<{ series: readonly NodeMetrics[]; health: NodeHealth }>> {
    return asResult(() => this.standings.metrics(nodeId));
  }

  async lift(nodeId: string): Promise<RpcResult<ReputationView>> {
    return asResult(() => this.standings.lift(nodeId));
  }

  async foreignTwin(
    nodeId: string,
    uuid: string,
    twin: { nodeId: string; region: string },
  ): Promise<RpcResult<{ known: boolean }>> {
    return asResult(() => this.standings.foreignTwin(nodeId, uuid, twin));
  }

  async restake(nodeId: string, tier: StakeTier): Promise<RpcResult<{ known: boolean }>> {
    return asResult(() => this.standings.restake(nodeId, tier));
  }

  async faultFound(nodeId: string, count: number): Promise<RpcResult<ReputationView>> {
    return asResult(() => this.standings.faultFound(nodeId, count));
  }

  // ---- user-facing methods (region-submit.ts, job-controls.ts, region-logs.ts) ---------------

  /**
   * A user's job, in one call: admitted (its row, first event and hold in D1, written here, the
   * `jobs` table's only writer), queued, placed if it fits now; the answer says where it went or
   * why it waits.
   */
  async submit(request: SubmitRequest): Promise<RpcResult<SubmitOutcome>> {
    return asResult(() =>
      submitJob(
        {
          env: this.env,
          state: this.state,
          shard: this.parts.shard,
          rentable: () => this.rentable(),
          save: () => this.save(),
        },
        request,
      ),
    );
  }

  async cancel(jobId: string): Promise<RpcResult<{ status: JobStatus }>> {
    return asResult(() => this.controls.cancel(jobId));
  }

  async followLogs(jobId: string): Promise<ReadableStream<Uint8Array>> {
    return this.logs.follow(jobId, this.state.jobs.has(jobId));
  }

  async pause(jobId: string, terms: PauseTerms): Promise<RpcResult<{ status: JobStatus }>> {
    return asResult(() => this.controls.pause(jobId, terms));
  }

  async resume(jobId: string): Promise<RpcResult<{ status: JobStatus }>> {
    return asResult(() => this.controls.resume(jobId));
  }

  async checkpointStored(jobId: string, seq: number, bytes: number): Promise<void> {
    await this.controls.checkpointStored(jobId, seq, bytes);
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

  /** What this shard publishes to its region's coordinator: free capacity per GPU model, node count. */
  async shardSummary(): Promise<RpcResult<ShardSummary>> {
    return asResult(async () => summarise(this.parts.shard.index, this.state.scheduler.inventory));
  }

  // ---- timed work ----------------------------------------------------------------------------

  /** Expires lapsed leases, parks silent nodes, retries D1 records and re-places work. Idempotent. */
  override async alarm(): Promise<void> {
    this.writer.alarmFired();
    const now = Date.now();
    this.challenges.sweep(now);
    this.sockets.closeSilent(now);
    this.state.sweep(now);
    await this.save("all");
  }

  // ---- internals -----------------------------------------------------------------------------

  private rentable(): NodeView[] {
    return listNodes(this.state, Date.now(), this.standing).filter(
      (node) => !this.requireVerified || node.gpus.length === 0 || node.verification === "verified",
    );
  }

  /**
   * Writes what the step staged, wakes the polls it concerns, then sends D1 its records: the
   * answer waits for the step's own (see RegionWriter.flushAndArm); the alarm's, for all pending.
   */
  private async save(wait: "own" | "all" = "own"): Promise<readonly OutboxEntry[]> {
    const step = {
      effects: this.state.drainEffects(),
      standing: this.standing.takeChanges(),
      nextWakeAt: (now: number) => this.nextWakeAt(now),
    };
    const through = await this.writer.write(step);
    for (const nodeId of step.effects.wake) this.waiters.wake(nodeId);
    this.logs.keepOnly((jobId) => this.state.jobs.has(jobId));
    await this.writer.flushAndArm(step, wait === "all" ? "all" : through);
    return step.effects.outbox;
  }

  private nextWakeAt(now: number): number | null {
    let next = this.state.nextWakeAt(now);
    for (const at of [this.standing.desk.nextWakeAt(), this.standing.book.nextChangeAt(now)]) {
      if (at !== undefined) next = Math.min(next ?? Number.POSITIVE_INFINITY, Math.max(at, now + 1_000));
    }
    return next;
  }
}
