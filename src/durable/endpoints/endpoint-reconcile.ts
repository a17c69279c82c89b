import { inArray } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobs } from "../../../schema/tables.js";
import type { EndpointSpec } from "../../shared/endpoints/endpoint-spec.js";
import type { ReplicaService } from "../../shared/endpoints/replica-service.js";
import { MeridianError } from "../../shared/errors.js";
import { JobSpec } from "../../shared/job-spec.js";
import { formatUsd } from "../../shared/money.js";
import type { Region } from "../../shared/regions.js";
import { submitToRegion } from "../../worker/region-coordinator.js";
import { jobStub } from "../../worker/region-routing.js";
import type { SubmitOutcome } from "../region-records.js";
import { shardCountOf } from "../region-shard.js";
import { shardOf } from "../scheduler/index.js";
import { decideScale } from "./autoscaler.js";
import type { EndpointMeter } from "./endpoint-metrics.js";
import { type EndpointRecord, isLive, type ReplicaRecord, type StoredEvent } from "./endpoint-records.js";
import type { BoardReplica } from "./replica-board.js";

/** How long one replica's hold lasts (its job's timeout): a successor is placed before it ends. */
export const DEFAULT_REPLICA_HOLD_SECONDS = 3600;
/** A replica this far into its hold is replaced (make before break), so the endpoint never runs unfunded. */
const RENEW_AT_SHARE = 0.8;
const ENDED = new Set(["succeeded", "failed", "cancelled"]);

export interface EndpointState {
  record: EndpointRecord;
  replicas: ReplicaRecord[];
  meter: EndpointMeter;
  regions: Region[];
}

interface Hooks {
  event: (type: StoredEvent["type"], message: string, extra?: { region?: string; jobId?: string }) => void;
  readyChanged: () => void;
}

export function holdSecondsOf(env: Env): number {
  const raw = Number((env as { ENDPOINT_REPLICA_HOLD_SECONDS?: unknown }).ENDPOINT_REPLICA_HOLD_SECONDS);
  return Number.isInteger(raw) && raw >= 10 ? raw : DEFAULT_REPLICA_HOLD_SECONDS;
}

/** The job a replica runs as: the endpoint's container, resources and price cap, for one hold period. */
export function replicaJobSpec(spec: EndpointSpec, holdSeconds: number): JobSpec {
  return JobSpec.parse({
    name: `endpoint ${spec.name}`.slice(0, 128),
    image: spec.image,
    command: spec.command,
    env: spec.env,
    resources: spec.resources,
    ...(spec.maxPricePerGpuHour === undefined
      ? {}
      : { maxPricePerGpuHour: formatUsd(spec.maxPricePerGpuHour) }),
    ...(spec.strategy === undefined ? {} : { strategy: spec.strategy }),
    timeoutSeconds: holdSeconds,
    maxRetries: 10,
  });
}

/**
 * The endpoint's control loop: learns its replicas' states from their regions and D1, asks the
 * autoscaler how many it needs, places or drains replicas to match, renews holds by replacing
 * replicas before their hold ends, and suspends the endpoint when its balance cannot fund one.
 */
export class Reconciler {
  private lastRunAt: number | null = null;

  constructor(
    private readonly env: Env,
    private readonly hooks: Hooks,
  ) {}

  /** Folds a region's view of a replica into the endpoint's; true when something changed. */
  absorb(replicas: ReplicaRecord[], region: string, board: BoardReplica, now: number): boolean {
    const replica = replicas.find((r) => r.jobId === board.jobId && r.region === region);
    if (!replica) return false;
    const inFlightChanged = replica.inFlight !== board.inFlight;
    replica.inFlight = board.inFlight;
    if (replica.state === "draining") return inFlightChanged;
    const changed =
      replica.attemptId !== board.attemptId ||
      replica.state !== board.state ||
      replica.detail !== board.detail;
    if (!changed) return inFlightChanged;
    const was = replica.state;
    Object.assign(replica, {
      attemptId: board.attemptId,
      nodeId: board.nodeId,
      state: board.state,
      detail: board.detail,
      since: now,
    });
    const extra = { region, jobId: replica.jobId };
    if (board.state === "ready" && was !== "ready")
      this.hooks.event("replica_ready", `replica on ${board.nodeId} is ready`, extra);
    if (board.state === "starting" && was !== "starting")
      this.hooks.event("replica_started", `replica starting on ${board.nodeId}`, extra);
    if (board.state === "unready")
      this.hooks.event(
        "replica_unhealthy",
        was === "ready"
          ? `replica on ${board.nodeId} failed its readiness probe: ${board.detail || "unready"}`
          : // A replica that never becomes ready says why (a failing probe and its status), once per change.
            `replica on ${board.nodeId} is not ready: ${board.detail || "its readiness probe has not passed"}`,
        extra,
      );
    if (board.state === "failed")
      this.hooks.event(
        "replica_failed",
        `replica on ${board.nodeId} failed: ${board.detail || "no detail"}`,
        extra,
      );
    this.hooks.readyChanged();
    return true;
  }

  async run(state: EndpointState, now: number): Promise<void> {
    const { record, replicas, meter } = state;
    if (record.status === "deleted") return;
    await this.observe(state, now);
    const since = this.lastRunAt ?? now;
    this.lastRunAt = now;
    for (const r of replicas)
      if (r.attemptId !== null && r.state !== "pending") meter.replicaTime(now - since);
    if (record.status !== "active") return;

    const hold = holdSecondsOf(this.env);
    const renewing = (r: ReplicaRecord): boolean => now - r.createdAt >= hold * 1000 * RENEW_AT_SHARE;
    const live = replicas.filter(isLive);
    const current = live.filter((r) => !renewing(r)).length;
    const { min, max } = record.spec.replicas;
    const decision = decideScale({
      now,
      current,
      min,
      max,
      scaling: record.spec.scaling,
      samples: meter.loadSamples(),
      // A request still in flight (a cold start, a ten-minute stream) is traffic now: never idle.
      // Replicas' own counts (from their regions) cover gateway requests whose report is late.
      lastRequestAt: meter.inFlight > 0 || replicas.some((r) => r.inFlight > 0) ? now : meter.lastRequestAt,
      waiting: meter.waiting,
      lastChangeAt: record.lastChangeAt,
    });
    if (decision.desired !== record.desired || decision.reason !== "") {
      if (decision.desired !== record.desired)
        this.hooks.event("scaled", `${record.desired} → ${decision.desired} replica(s): ${decision.reason}`);
      record.desired = decision.desired;
      record.lastChangeAt = now;
    }
    // Place what is missing (renewing replicas are replaced by these), then drain the surplus.
    for (let i = current; i < record.desired; i++) if (!(await this.place(state, now))) return;
    const fresh = replicas.filter((r) => isLive(r) && !renewing(r));
    const readyFresh = fresh.filter((r) => r.state === "ready").length;
    // A renewing replica is kept only while ready successors are short of the desired count (and
    // never past its hold): make before break.
    let keepRenewing = Math.max(0, record.desired - readyFresh);
    const newestFirst = live.filter(renewing).sort((a, b) => b.createdAt - a.createdAt);
    for (const r of newestFirst) {
      if (keepRenewing > 0 && now - r.createdAt < hold * 1000) {
        keepRenewing -= 1;
        continue;
      }
      if (readyFresh > 0) await this.drain(r, "its hold is renewed by a successor", "replica_replaced");
      else await this.drain(r, "its hold ended and no more replicas are wanted", "scaled");
    }
    // Fresh replicas beyond the desired count are scaled down, least useful first.
    let surplus = current - record.desired;
    const order = live
      .filter((r) => !renewing(r) && r.state !== "draining")
      .sort((a, b) => rank(a) - rank(b) || b.createdAt - a.createdAt);
    for (const r of order) {
      if (surplus <= 0) break;
      await this.drain(r, "scaled down", "scaled");
      surplus -= 1;
    }
    await this.retire(state);
  }

  async stopAll(state: EndpointState, why: string): Promise<void> {
    for (const r of state.replicas) await this.cancel(r);
    if (state.replicas.length > 0)
      this.hooks.event("scaled", `${state.replicas.length} replica(s) stopped: ${why}`);
    state.replicas.splice(0);
  }

  /** Regions' boards and the jobs' rows say what became of each replica. */
  private async observe(state: EndpointState, now: number): Promise<void> {
    const { replicas, record } = state;
    // Each replica's job (and so its board entry) is in the shard its id hashes to.
    const shards = new Map<string, { region: string; jobId: string }>();
    for (const r of replicas)
      shards.set(`${r.region}#${shardOf(r.jobId, shardCountOf(this.env, r.region))}`, r);
    for (const { region, jobId } of shards.values()) {
      const board = await jobStub(this.env, region, jobId).endpointReplicas(record.id);
      if (!board.ok) continue;
      const newest = new Map<string, BoardReplica>();
      for (const b of board.value) {
        const seen = newest.get(b.jobId);
        if (!seen || seen.fencing < b.fencing) newest.set(b.jobId, b);
      }
      for (const b of newest.values()) this.absorb(replicas, region, b, now);
    }
    if (replicas.length === 0) return;
    const rows = await drizzle(this.env.DB)
      .select({ id: jobs.id, status: jobs.status, reason: jobs.reason })
      .from(jobs)
      .where(
        inArray(
          jobs.id,
          replicas.map((r) => r.jobId),
        ),
      )
      .all();
    for (const row of rows) {
      if (!ENDED.has(row.status)) continue;
      const at = replicas.findIndex((r) => r.jobId === row.id);
      const replica = replicas[at];
      if (!replica) continue;
      replicas.splice(at, 1);
      if (replica.state !== "draining")
        this.hooks.event(
          "replica_failed",
          `replica ended (${row.status}${row.reason ? `: ${row.reason}` : ""}); it will be replaced if still needed`,
          { region: replica.region, jobId: replica.jobId },
        );
      this.hooks.readyChanged();
    }
  }

  private regionFor(state: EndpointState): string {
    const { spec, homeRegion } = state.record;
    if (spec.regions === "nearest") return homeRegion ?? String(this.env.DEFAULT_REGION);
    const counts = new Map(spec.regions.map((id) => [id, 0]));
    for (const r of state.replicas.filter(isLive)) counts.set(r.region, (counts.get(r.region) ?? 0) + 1);
    let best = spec.regions[0] ?? String(this.env.DEFAULT_REGION);
    for (const id of spec.regions) if ((counts.get(id) ?? 0) < (counts.get(best) ?? 0)) best = id;
    return best;
  }

  /** Places one replica; false when the account cannot fund it (the endpoint is then suspended). */
  private async place(state: EndpointState, now: number): Promise<boolean> {
    const { record } = state;
    const region = this.regionFor(state);
    const service: ReplicaService = {
      endpointId: record.id,
      port: record.spec.port,
      readiness: record.spec.readiness,
    };
    let outcome: SubmitOutcome;
    try {
      // In a sharded region the coordinator picks the shard with room, so replicas use every shard's nodes.
      outcome = await submitToRegion(this.env, region, {
        accountId: record.accountId,
        spec: replicaJobSpec(record.spec, holdSecondsOf(this.env)),
        idempotencyKey: undefined,
        service,
      });
    } catch (error) {
      if (!(error instanceof MeridianError)) throw error;
      if (error.status === 402 || error.status === 403) {
        record.status = "suspended";
        record.reason = `the account cannot fund a replica: ${error.message}`;
        record.desired = 0;
        this.hooks.event(
          "suspended",
          `${record.reason}; scaled to zero (top up, then PATCH the endpoint to resume)`,
        );
        await this.stopAll(state, "the endpoint is suspended");
        this.hooks.readyChanged();
      } else
        this.hooks.event("replica_failed", `could not place a replica in ${region}: ${error.message}`, {
          region,
        });
      return false;
    }
    const member = outcome.placement?.[0];
    state.replicas.push({
      jobId: outcome.jobId,
      region,
      attemptId: member?.attemptId ?? null,
      nodeId: member?.nodeId ?? null,
      state: "pending",
      detail: member
        ? "placed; waiting for the container"
        : (outcome.explanation?.message ?? "queued: no node can take it yet"),
      since: now,
      createdAt: now,
      inFlight: 0,
    });
    this.hooks.event(
      "replica_started",
      member ? `replica placed on ${member.nodeId}` : `replica queued in ${region}`,
      { region, jobId: outcome.jobId },
    );
    return true;
  }

  private async drain(replica: ReplicaRecord, why: string, type: StoredEvent["type"]): Promise<void> {
    replica.state = "draining";
    replica.detail = why;
    if (replica.attemptId) {
      await jobStub(this.env, replica.region, replica.jobId).drainReplica(replica.attemptId);
    }
    this.hooks.event(type, `draining replica ${replica.jobId}: ${why}`, {
      region: replica.region,
      jobId: replica.jobId,
    });
  }

  /** Draining replicas whose last stream ended are stopped (their jobs cancelled: billing settles). */
  private async retire(state: EndpointState): Promise<void> {
    for (const r of [...state.replicas]) {
      if (r.state !== "draining" || r.inFlight > 0) continue;
      await this.cancel(r);
      state.replicas.splice(state.replicas.indexOf(r), 1);
    }
  }

  private async cancel(replica: ReplicaRecord): Promise<void> {
    await jobStub(this.env, replica.region, replica.jobId).cancel(replica.jobId);
  }
}

/** Which replica goes first when scaling down: not yet ready before unready before ready. */
function rank(r: ReplicaRecord): number {
  return r.state === "pending" ? 0 : r.state === "starting" ? 1 : r.state === "unready" ? 2 : 3;
}
