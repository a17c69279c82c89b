import { regionSigningKey } from "../chain/receipts/region-signing-key.js";
import { verifiedUsage } from "../chain/receipts/usage-check.js";
import type {
  AttemptReport,
  PollRequest,
  PollResponse,
  ReclaimRequest,
  RegisterRequest,
  RegisterResponse,
  ReportResponse,
} from "../shared/agent-protocol.js";
import { MeridianError } from "../shared/errors.js";
import { nodeIdForPublicKey } from "../shared/ids.js";
import type { JobSpec } from "../shared/job-spec.js";
import type { LocationFact } from "../shared/node-location.js";
import {
  countersignUsage,
  type RegionCountersignature,
  type RegionTimes,
} from "../shared/receipts/region-countersignature.js";
import type { SignedUsage } from "../shared/receipts/usage-statement.js";
import type { ReclaimAnswer } from "./node-reclaim.js";
import { nodeRecordOf } from "./node-registration.js";
import { answerPoll } from "./poll-answer.js";
import { admitSession } from "./poll-session.js";
import { answering, authenticate, type RegionContext } from "./region-context.js";
import type { RegionLogs } from "./region-logs.js";
import type { AgentCaller, AttemptRecord, JobRecord } from "./region-records.js";
import { assertNodeHere } from "./region-shard.js";

/** The job behind an attempt, for the Worker's storage routes. */
export interface AttemptOf {
  jobId: string;
  accountId: string;
  spec: JobSpec;
  attempts: number;
  rank: number;
}

/**
 * The agent protocol's calls (register, poll, report, reclaim), each a step of the region's
 * state saved before it answers. Every call but register comes from a registered node.
 */
export class AgentCalls {
  constructor(
    private readonly region: () => RegionContext,
    private readonly logs: RegionLogs,
    /** Where the region's signing key comes from (REGION_SIGNING_SEED): the object's env. */
    private readonly env: object,
  ) {}

  async register(
    caller: AgentCaller,
    request: RegisterRequest,
    location?: LocationFact,
  ): Promise<RegisterResponse> {
    const region = this.region();
    const { state, standing } = region;
    const now = Date.now();
    const id = await nodeIdForPublicKey(caller.publicKey);
    // A node registers only at its own shard (its id's hash), before anything here changes.
    assertNodeHere(region.shard, id);
    region.nonces.check(caller.nonce, caller.timestamp, now);
    admitSession(state.presence, id, request.session, now);
    const registeredAt = state.nodes.get(id)?.registeredAt ?? now;
    const node = {
      ...nodeRecordOf(id, caller, request, state.region, registeredAt, location),
      stakeTier: state.nodes.get(id)?.stakeTier,
    };
    standing.desk.onRegistered(node, now);
    state.registerNode(node, now);
    await region.save();
    state.presence.requestAnswered(id, Date.now());
    return {
      nodeId: id,
      region: state.region,
      pollWaitMs: region.timing.pollWaitMs,
      leaseTtlMs: state.pacing().leaseTtlMs,
    };
  }

  async poll(caller: AgentCaller, request: PollRequest): Promise<PollResponse> {
    const region = this.region();
    const { state, standing } = region;
    const now = Date.now();
    const node = authenticate(region, caller, now);
    admitSession(state.presence, node.id, request.session, now);
    if (request.metrics && standing.addMetrics(node, request.metrics)) state.standingChanged([node.id], now);
    return answerPoll(
      {
        state,
        waiters: region.waiters,
        pollWaitMs: region.timing.pollWaitMs,
        challengesFor: (nodeId, at) => standing.desk.challengesFor(nodeId, at),
        save: () => region.save(),
      },
      node.id,
      caller.nonce,
      request,
    );
  }

  /** A held poll's connection closed before its answer: the node has the reconnect window. */
  async pollDropped(nodeId: string, token: string): Promise<{ dropped: boolean }> {
    const region = this.region();
    if (!region.state.nodes.has(nodeId)) return { dropped: false };
    region.waiters.drop(nodeId, token);
    const dropped = region.state.pollDropped(nodeId, token, Date.now());
    await region.save();
    return { dropped };
  }

  async report(caller: AgentCaller, attemptId: string, report: AttemptReport): Promise<ReportResponse> {
    const region = this.region();
    const now = Date.now();
    const node = authenticate(region, caller, now);
    // Checked before the step: a statement the node key did not sign, or about another attempt, is
    // not kept (the report itself still counts; the receipt then lacks the agent's signature).
    const usage = report.type === "exited" ? await verifiedUsage(report.usage, node.publicKey) : null;
    // Signed before the step too (nothing may interleave between its check and its change): over the
    // start this region saw and its clock now, kept only if the step finds that start unchanged.
    const seen = region.state.currentAttempt(attemptId, node.id, report.fencing)?.member.startedAt ?? null;
    const countersigned = usage
      ? await this.countersign(region, usage, { startedAt: seen, endedAt: now })
      : null;
    return answering(region, node.id, caller.nonce, async () => {
      const { job, member } = this.current(region, attemptId, node.id, report.fencing);
      if (usage?.statement.attemptId === attemptId && usage.statement.jobId === job.id) {
        const held = countersigned?.startedAt === member.startedAt ? countersigned : null;
        region.state.recordUsage(usage, held ?? undefined, now);
      }
      region.state.report(job, member, report, now);
      if (report.type === "logs") await this.logs.write(job.id, member.id, report.chunks);
      else await region.save();
      return { accepted: true, stop: report.type === "exited" || member.stopping !== null };
    });
  }

  /** A restarted agent asks which of the attempt containers it found are still its node's. */
  async reclaim(caller: AgentCaller, request: ReclaimRequest): Promise<ReclaimAnswer> {
    const region = this.region();
    const { state } = region;
    const now = Date.now();
    const node = authenticate(region, caller, now);
    admitSession(state.presence, node.id, request.session, now);
    return answering(region, node.id, caller.nonce, async () => {
      const answer = state.reclaim(node.id, request.attempts, now);
      await region.save();
      return answer;
    });
  }

  /**
   * The region's countersignature on a kept statement: the statement and the region's own times
   * for the attempt, signed with its key; none where this deployment has no REGION_SIGNING_SEED.
   */
  private async countersign(
    region: RegionContext,
    usage: SignedUsage,
    times: RegionTimes,
  ): Promise<RegionCountersignature | null> {
    const regionId = region.state.region;
    const key = regionSigningKey(this.env, regionId);
    return key ? countersignUsage(regionId, usage, times, await key) : null;
  }

  /** The job behind an attempt this node holds under this fencing number (a current lease only). */
  async attemptOf(caller: AgentCaller, attemptId: string, fencing: number): Promise<AttemptOf> {
    const region = this.region();
    const node = authenticate(region, caller, Date.now());
    const { job, member } = this.current(region, attemptId, node.id, fencing);
    return {
      jobId: job.id,
      accountId: job.accountId,
      spec: job.spec,
      attempts: job.attempts,
      rank: member.rank,
    };
  }

  private current(
    region: RegionContext,
    attemptId: string,
    nodeId: string,
    fencing: number,
  ): { job: JobRecord; member: AttemptRecord } {
    const current = region.state.currentAttempt(attemptId, nodeId, fencing);
    if (!current)
      throw new MeridianError(409, "stale_lease", "this attempt's lease is no longer current; stop it");
    return current;
  }
}
