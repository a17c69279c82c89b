import { DurableObject } from "cloudflare:workers";
import type { EndpointSpec } from "../../shared/endpoints/endpoint-spec.js";
import type {
  EndpointEvent,
  EndpointMetrics,
  EndpointView,
  ReplicaView,
} from "../../shared/endpoints/endpoint-views.js";
import { addTiming } from "../../shared/endpoints/server-timing.js";
import { MeridianError } from "../../shared/errors.js";
import { RegionList } from "../../shared/regions.js";
import { asResult, type RpcResult } from "../rpc-result.js";
import { accessFacts, accessRefusal } from "./endpoint-access.js";
import {
  byCallerDistance,
  byDistance,
  forwardToRegions,
  GATEWAY_CALLER_HEADER,
  type GatewayCaller,
  metered,
  parseCaller,
  type ReplicaTarget,
  readyTargets,
} from "./endpoint-forward.js";
import { EndpointMeter, type StoredMetrics } from "./endpoint-metrics.js";
import { Reconciler } from "./endpoint-reconcile.js";
import {
  type EndpointRecord,
  endpointView,
  eventView,
  type ReplicaRecord,
  replicaView,
  type StoredEvent,
} from "./endpoint-records.js";
import { type EndpointRoute, GatewayTraffic, type TrafficReport } from "./gateway-traffic.js";
import { openAiError } from "./openai-error.js";
import type { BoardReplica } from "./replica-board.js";

const MAX_EVENTS = 500;
/** The reconcile loop's period while the endpoint has replicas or traffic. */
const TICK_MS = 1_000;

/**
 * One inference endpoint as a Durable Object (named by its id): its spec and state, its replicas
 * (jobs in the regions, carrying Assignment.service), the autoscaler's loop (an alarm), metrics and
 * events, and the data path's slow side: the gateway routes from a short-lived copy of the
 * endpoint's ready regions and access facts (`route`) and reports its traffic afterwards
 * (`traffic`); a request the copy cannot serve (no copy, no ready replica, every region
 * unreachable) comes here, where it waits for a cold start if it must.
 */
export class EndpointObject extends DurableObject<Env> {
  private record: EndpointRecord | null = null;
  private replicas: ReplicaRecord[] = [];
  private events: StoredEvent[] = [];
  private meter = new EndpointMeter(EndpointMeter.empty());
  private readyWaiters: (() => void)[] = [];
  /** The alarm as this object last set it (undefined: not known yet), so a request needs no storage read. */
  private alarmAt: number | null | undefined;
  private regionList: ReturnType<typeof RegionList.parse> | undefined;
  private readonly reconciler: Reconciler;
  private readonly gatewayTraffic = new GatewayTraffic();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.reconciler = new Reconciler(env, {
      event: (type, message, extra) => this.event(type, message, extra),
      readyChanged: () => this.wakeWaiters(),
    });
    void ctx.blockConcurrencyWhile(async () => {
      this.record = (await ctx.storage.get<EndpointRecord>("endpoint")) ?? null;
      this.replicas = (await ctx.storage.get<ReplicaRecord[]>("replicas")) ?? [];
      this.events = (await ctx.storage.get<StoredEvent[]>("events")) ?? [];
      this.meter = new EndpointMeter(
        (await ctx.storage.get<StoredMetrics>("metrics")) ?? EndpointMeter.empty(),
      );
    });
  }

  // ---- control plane ---------------------------------------------------------------------------

  async create(
    id: string,
    accountId: string,
    spec: EndpointSpec,
    homeRegion: string | null,
  ): Promise<RpcResult<EndpointView>> {
    return asResult(async () => {
      const now = Date.now();
      if (!this.record) {
        this.record = {
          id,
          accountId,
          spec,
          status: "active",
          reason: null,
          createdAt: now,
          updatedAt: now,
          homeRegion,
          desired: 0,
          lastChangeAt: now,
        };
        this.event(
          "created",
          `endpoint ${spec.name} created (replicas ${spec.replicas.min}-${spec.replicas.max})`,
        );
        await this.save();
        await this.arm(now);
      }
      return endpointView(this.record, this.replicas);
    });
  }

  async view(accountId: string): Promise<RpcResult<EndpointView>> {
    return asResult(async () => endpointView(this.owned(accountId), this.replicas));
  }

  async update(accountId: string, spec: EndpointSpec, message: string): Promise<RpcResult<EndpointView>> {
    return asResult(async () => {
      const record = this.owned(accountId);
      const now = Date.now();
      record.spec = spec;
      record.updatedAt = now;
      // A scale or image change is a fresh start for the cool-down, and may lift a suspension.
      record.lastChangeAt = now;
      if (record.status === "suspended") {
        record.status = "active";
        record.reason = null;
      }
      this.event("updated", message);
      await this.reconciler.run(this.state(), now);
      await this.save();
      await this.arm(now);
      return endpointView(record, this.replicas);
    });
  }

  async remove(accountId: string): Promise<RpcResult<EndpointView>> {
    return asResult(async () => {
      const record = this.owned(accountId);
      const now = Date.now();
      record.status = "deleted";
      record.updatedAt = now;
      record.desired = 0;
      this.event("deleted", "endpoint deleted: its replicas are stopped");
      await this.reconciler.stopAll(this.state(), "the endpoint was deleted");
      this.wakeWaiters();
      await this.save();
      return endpointView(record, this.replicas);
    });
  }

  async replicaList(accountId: string): Promise<RpcResult<ReplicaView[]>> {
    return asResult(async () => {
      this.owned(accountId);
      return this.replicas.map(replicaView);
    });
  }

  async eventList(accountId: string): Promise<RpcResult<EndpointEvent[]>> {
    return asResult(async () => {
      this.owned(accountId);
      return this.events.map(eventView);
    });
  }

  async metrics(accountId: string): Promise<RpcResult<EndpointMetrics>> {
    return asResult(async () => {
      this.owned(accountId);
      return this.meter.view();
    });
  }

  /** A region says one of this endpoint's replicas changed readiness (see replica-notify.ts). */
  async replicaChanged(region: string, board: BoardReplica): Promise<void> {
    if (this.reconciler.absorb(this.replicas, region, board, Date.now())) {
      await this.save();
      this.wakeWaiters();
    }
  }

  // ---- data path -------------------------------------------------------------------------------

  /** What the gateway's copy holds (see src/worker/gateway/endpoint-copy.ts); null: no such endpoint. */
  async route(): Promise<EndpointRoute | null> {
    if (!this.record) return null;
    return { ...accessFacts(this.record), ready: readyTargets(this.env, this.replicas) };
  }

  /** Requests the gateway served from its copy, reported afterwards (batched per isolate). */
  async traffic(report: TrafficReport): Promise<void> {
    const now = Date.now();
    this.gatewayTraffic.absorb(this.meter, report, now);
    await this.arm(now);
  }

  /** A caller's request, checked by the Worker's gateway (key, body size) and forwarded here. */
  override async fetch(request: Request): Promise<Response> {
    const arrivedAt = Date.now();
    const caller = parseCaller(request.headers.get(GATEWAY_CALLER_HEADER));
    const record = this.record;
    if (!caller) return openAiError(400, "invalid_request", "malformed gateway request");
    const refusal = accessRefusal(record && accessFacts(record), caller);
    if (refusal || !record) return refusal ?? openAiError(404, "model_not_found", "no such endpoint (model)");
    const body = request.body ? await request.arrayBuffer() : null;
    const startedAt = Date.now();
    this.meter.arrived(startedAt);
    await this.arm(startedAt);
    const bound = startedAt + record.spec.scaling.maxColdStartWaitSeconds * 1000;
    let coldStart = false;
    for (;;) {
      const regions = this.readyRegions(caller);
      const forwardAt = Date.now();
      const served =
        regions.length > 0
          ? await forwardToRegions(this.env, record.id, regions, {
              method: request.method,
              headers: request.headers,
              body,
              caller,
              signal: request.signal,
            })
          : undefined;
      if (served) {
        this.meter.queued(Date.now(), Date.now() - startedAt);
        const ok = served.response.status < 500;
        const response = metered(served.response, this.meter, startedAt, coldStart, ok);
        addTiming(response.headers, "endpoint", forwardAt - arrivedAt);
        addTiming(response.headers, "to-region", Date.now() - forwardAt);
        return response;
      }
      const now = Date.now();
      if (now >= bound || this.record?.status !== "active") {
        this.meter.queued(now, now - startedAt);
        this.meter.finished({ ok: false, latencyMs: now - startedAt, ttfbMs: null, coldStart });
        const status = this.record?.status;
        if (status === "suspended")
          return openAiError(402, "insufficient_balance", `endpoint suspended: ${this.record?.reason ?? ""}`);
        if (status === "deleted") return openAiError(404, "model_not_found", "no such endpoint (model)");
        return openAiError(
          503,
          "no_ready_replica",
          `no replica became ready within ${record.spec.scaling.maxColdStartWaitSeconds}s; retry later`,
          { "retry-after": String(Math.max(1, record.spec.scaling.scaleUpWindowSeconds)) },
        );
      }
      // A cold start: the request waits (bounded) while a replica is placed and becomes ready.
      coldStart = coldStart || this.replicas.every((r) => r.state !== "ready");
      if (record.spec.regions === "nearest" && record.homeRegion === null)
        record.homeRegion = byDistance(this.regions(), caller.lat, caller.lon)[0]?.id ?? null;
      this.meter.waiting += 1;
      try {
        await this.reconciler.run(this.state(), now);
        await this.save();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(1_000, bound - now));
          this.readyWaiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      } finally {
        this.meter.waiting -= 1;
      }
    }
  }

  // ---- timed work ------------------------------------------------------------------------------

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    if (!this.record) return;
    const now = Date.now();
    this.gatewayTraffic.expire(this.meter, now);
    this.meter.tick(now);
    await this.reconciler.run(this.state(), now);
    await this.save();
    await this.arm(now, true);
  }

  // ---- internals -------------------------------------------------------------------------------

  private state() {
    if (!this.record) throw new MeridianError(404, "endpoint_not_found", "no such endpoint");
    return { record: this.record, replicas: this.replicas, meter: this.meter, regions: this.regions() };
  }

  private owned(accountId: string): EndpointRecord {
    const record = this.record;
    if (!record || record.status === "deleted" || record.accountId !== accountId)
      throw new MeridianError(404, "endpoint_not_found", "no such endpoint");
    return record;
  }

  /** The configured regions, parsed once (env does not change while the object lives). */
  private regions() {
    this.regionList ??= RegionList.parse(JSON.parse(String(this.env.REGIONS)));
    return this.regionList;
  }

  /** Where a ready replica is, nearest the caller first. */
  private readyRegions(caller: GatewayCaller): ReplicaTarget[] {
    return byCallerDistance(this.regions(), readyTargets(this.env, this.replicas), caller);
  }

  private event(
    type: StoredEvent["type"],
    message: string,
    extra: { region?: string; jobId?: string } = {},
  ): void {
    this.events.push({
      at: Date.now(),
      type,
      message,
      region: extra.region ?? null,
      jobId: extra.jobId ?? null,
    });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  private wakeWaiters(): void {
    for (const wake of this.readyWaiters.splice(0)) wake();
  }

  private async save(): Promise<void> {
    await this.ctx.storage.put({
      endpoint: this.record,
      replicas: this.replicas,
      events: this.events,
      metrics: this.meter.data,
    });
  }

  /**
   * The loop runs while there is anything to watch; an idle endpoint at zero sleeps until a request.
   * `fired`: called from the alarm itself, where getAlarm() still answers the alarm now running, so
   * the next one must be set regardless.
   */
  private async arm(now: number, fired = false): Promise<void> {
    const record = this.record;
    const busy =
      this.replicas.length > 0 ||
      this.meter.inFlight > 0 ||
      (record?.desired ?? 0) > 0 ||
      (record?.spec.replicas.min ?? 0) > 0;
    if (!busy || this.record?.status === "deleted") return;
    if (!fired && this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm();
    const current = fired ? null : this.alarmAt;
    if (current === null || current === undefined || current > now + TICK_MS) {
      this.alarmAt = now + TICK_MS;
      await this.ctx.storage.setAlarm(now + TICK_MS);
    }
  }
}
