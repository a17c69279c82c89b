import { registrationRecordOf } from "../chain/receipts/registration-records.js";
import type { StakeTier } from "../shared/staking-api.js";
import type { Staging } from "./effects.js";
import type { LeasePolicy } from "./lease.js";
import { RestartGrace } from "./node-loss.js";
import { type Absence, NodePresence } from "./node-presence.js";
import type { NodeStanding } from "./node-standing.js";
import type { Pacing } from "./poll-pacing.js";
import type { NodeRecord } from "./region-records.js";
import { nodeFromRecord, type Scheduler } from "./scheduler/index.js";
import type { NodeFacts } from "./scheduler/node-from-record.js";
import type { SchedulerNode } from "./scheduler/scheduler-node.js";
import { STORAGE_KEYS } from "./storage-keys.js";

interface Liveness {
  lastSeenAt: number;
  acceptingWork: boolean;
  rttMs: number | undefined;
}

export interface RegionNodesParts {
  lease: LeasePolicy;
  standing: NodeStanding;
  scheduler: Scheduler<string>;
  staging: Staging;
}

/**
 * The nodes half of a region's state: registrations, liveness (memory only, so a heartbeat that
 * changes nothing writes nothing), and how each node is indexed in the scheduler — schedulable
 * only while live, accepting work and in good standing.
 */
export class RegionNodes {
  readonly records = new Map<string, NodeRecord>();
  private readonly live = new Map<string, Liveness>();
  /** Held polls, dropped connections and each node's poll rhythm. */
  readonly presence: NodePresence;
  /** The restored nodes that have not been back since the region restarted. */
  readonly grace: RestartGrace;

  constructor(
    private readonly parts: RegionNodesParts,
    restored: Iterable<NodeRecord>,
  ) {
    this.presence = new NodePresence(parts.lease.presence());
    const ids: string[] = [];
    for (const node of restored) {
      ids.push(node.id);
      this.records.set(node.id, node);
      // Indexed as schedulable so live reservations can be restored onto it; `park` follows. As
      // the part its verification listed it as, so a restart never shows the claim again.
      parts.scheduler.inventory.upsertNode(
        nodeFromRecord(node, {
          schedulable: true,
          verifiedTflops: parts.standing.verifiedTflops(node.id),
          attested: parts.standing.attested?.(node.id),
          listedModels: parts.standing.listedModels?.(node.id),
          ...locationFacts(node),
        }),
      );
    }
    this.grace = new RestartGrace(ids);
  }

  /** After a restart every node waits, unschedulable, until it polls again. */
  parkAll(): void {
    for (const nodeId of this.records.keys()) this.parts.scheduler.inventory.setSchedulable(nodeId, false);
  }

  pacing(): Pacing {
    return this.parts.lease.pacing(this.records.size);
  }

  get(nodeId: string): NodeRecord | undefined {
    return this.records.get(nodeId);
  }

  register(node: NodeRecord, now: number): void {
    this.records.set(node.id, node);
    this.parts.staging.put(STORAGE_KEYS.node + node.id, node);
    this.parts.staging.record(
      { kind: "node", node, at: now },
      {
        kind: "registration",
        record: registrationRecordOf(node, this.parts.standing.verifiedTflops(node.id), now),
      },
    );
    this.grace.returned(node.id);
    const wasLive = this.isLive(node.id, now);
    this.presence.heard(node.id, now);
    this.live.set(node.id, { lastSeenAt: now, acceptingWork: true, rttMs: this.live.get(node.id)?.rttMs });
    if (!wasLive) this.parts.staging.event({ kind: "online", nodeId: node.id, at: now });
    this.refresh(node.id, now);
  }

  /** The Worker says what the node's stake earns now: kept with its record and re-indexed. */
  restake(nodeId: string, tier: StakeTier, now: number): boolean {
    const node = this.records.get(nodeId);
    if (!node || (node.stakeTier ?? "none") === tier) return false;
    const next = { ...node, stakeTier: tier };
    this.records.set(nodeId, next);
    this.parts.staging.put(STORAGE_KEYS.node + nodeId, next);
    this.refresh(nodeId, now);
    return true;
  }

  /**
   * The node was heard from. True when what the scheduler knows of it changed (it came back, it
   * stopped or started taking work, its round trip moved by more than a fifth).
   */
  seen(nodeId: string, acceptingWork: boolean, rttMs: number | undefined, now: number): boolean {
    const before = this.live.get(nodeId);
    const wasLive = this.isLive(nodeId, now);
    this.grace.returned(nodeId);
    this.presence.touched(nodeId, now);
    const rttChanged =
      rttMs !== undefined &&
      (before?.rttMs === undefined || Math.abs(rttMs - before.rttMs) > before.rttMs * 0.2);
    this.live.set(nodeId, { lastSeenAt: now, acceptingWork, rttMs: rttChanged ? rttMs : before?.rttMs });
    if (!wasLive) this.parts.staging.event({ kind: "online", nodeId, at: now });
    const changed = !wasLive || before?.acceptingWork !== acceptingWork || rttChanged;
    if (changed) this.refresh(nodeId, now);
    return changed;
  }

  /** Whether the node's last poll said it takes new work (false: draining, e.g. outside its windows). */
  isAcceptingWork(nodeId: string): boolean {
    return this.live.get(nodeId)?.acceptingWork ?? false;
  }

  /**
   * Heard from within its grace, its connection not dropped and its silence not past what its
   * rhythm allows.
   */
  isLive(nodeId: string, now: number): boolean {
    const seen = this.live.get(nodeId);
    return (
      seen !== undefined &&
      now - seen.lastSeenAt <= this.pacing().graceMs &&
      !this.presence.dropped(nodeId) &&
      this.presence.absence(nodeId, now) === null
    );
  }

  /**
   * Why the node is taken for gone now (its dropped connection did not return, or its silence).
   * Never while it has yet to come back after a restart: its presence before the restart is
   * unknown (an agent may be out in a long retry backoff), so its restored leases decide.
   */
  absence(nodeId: string, now: number): Absence | null {
    if (this.grace.awaiting(nodeId)) return null;
    return this.presence.absence(nodeId, now);
  }

  /**
   * A held poll of the node began. True when it returns after its connection dropped: a flap,
   * which its reputation counts (a node that keeps dropping is quarantined, not chased).
   */
  pollOpened(nodeId: string, token: string, now: number): boolean {
    const returned = this.presence.dropped(nodeId);
    this.presence.pollOpened(nodeId, token, now);
    // A connection that dropped before the node was back after a restart was the region's blink.
    if (returned && !this.grace.awaiting(nodeId)) this.parts.staging.event({ kind: "flap", nodeId, at: now });
    return returned;
  }

  /** The held poll's connection dropped: the node takes no new work while it may come back. */
  pollDropped(nodeId: string, token: string, now: number): boolean {
    if (!this.presence.pollDropped(nodeId, token, now)) return false;
    if (this.presence.dropped(nodeId)) this.refresh(nodeId, now);
    return true;
  }

  anyLive(now: number): boolean {
    for (const nodeId of this.live.keys()) if (this.isLive(nodeId, now)) return true;
    return false;
  }

  /**
   * Whether the scheduler's view of a node no longer matches its standing: its eligibility, or
   * what its verification made of it (the part each GPU is listed as, its VRAM, its verified
   * TFLOP/s), so a re-classification that leaves eligibility alone is indexed too (issue 14).
   */
  standingChanged(nodeId: string, now: number): boolean {
    const indexed = this.parts.scheduler.inventory.node(nodeId)?.node;
    const fresh = this.viewOf(nodeId, now);
    if (!fresh) return false;
    if (!indexed) return fresh.schedulable;
    return indexed.schedulable !== fresh.schedulable || verifiedViewDiffers(indexed, fresh);
  }

  /** Re-indexes a node in the scheduler with its live facts and standing. */
  refresh(nodeId: string, now: number): void {
    const view = this.viewOf(nodeId, now);
    if (!view) return;
    this.parts.scheduler.inventory.upsertNode(view);
    this.parts.staging.schedulePass = true;
  }

  /** The scheduler's view of a node from its registration, live facts and standing. */
  private viewOf(nodeId: string, now: number): SchedulerNode | undefined {
    const node = this.records.get(nodeId);
    if (!node) return undefined;
    const { standing } = this.parts;
    const reputation = standing.reputation(nodeId, now);
    return nodeFromRecord(node, {
      schedulable: this.schedulable(nodeId, now),
      reputation: reputation === undefined ? undefined : reputation * standing.healthFactor(node),
      verifiedTflops: standing.verifiedTflops(nodeId),
      attested: standing.attested?.(nodeId),
      listedModels: standing.listedModels?.(nodeId),
      rttMs: this.live.get(nodeId)?.rttMs,
      ...locationFacts(node),
    });
  }

  /** Parks nodes silent past their grace, or gone: they take no new work until they poll again. */
  parkSilent(now: number): void {
    const graceMs = this.pacing().graceMs;
    for (const [nodeId, seen] of this.live) {
      const gone = now - seen.lastSeenAt > graceMs || this.presence.absence(nodeId, now) !== null;
      if (gone && this.parts.scheduler.inventory.node(nodeId)?.node.schedulable) {
        this.parts.scheduler.inventory.setSchedulable(nodeId, false);
        this.parts.staging.event({ kind: "offline", nodeId, at: now });
      }
    }
  }

  private schedulable(nodeId: string, now: number): boolean {
    return (
      this.records.get(nodeId)?.runtime !== "none" &&
      this.isLive(nodeId, now) &&
      (this.live.get(nodeId)?.acceptingWork ?? false) &&
      this.parts.standing.eligible(nodeId, now)
    );
  }
}

/** The facts a node's registration gives the scheduler: where it is and its measured bandwidth. */
function locationFacts(node: NodeRecord): Pick<NodeFacts, "lat" | "lon" | "country" | "bandwidthGbps"> {
  return {
    lat: node.location?.lat,
    lon: node.location?.lon,
    country: node.location?.country,
    bandwidthGbps: node.bandwidthGbps,
  };
}

/** Whether what verification decided about a node (parts listed, VRAM, TFLOP/s, attested) differs in two views. */
function verifiedViewDiffers(a: SchedulerNode, b: SchedulerNode): boolean {
  if (a.verifiedTflops !== b.verifiedTflops || a.attested !== b.attested) return true;
  if (a.gpus.length !== b.gpus.length) return true;
  return a.gpus.some((gpu, i) => gpu.model !== b.gpus[i]?.model || gpu.vramMib !== b.gpus[i]?.vramMib);
}
