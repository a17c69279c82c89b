import { MeridianError } from "../../../shared/errors.js";
import type { Demand } from "../demand.js";
import type { ReservationMeta } from "../inventory.js";
import { type Placement, Scheduler, type SchedulerOptions } from "../scheduler.js";
import type { SchedulerNode } from "../scheduler-node.js";
import { shardOf } from "./shard-key.js";
import { shardOrder } from "./shard-order.js";
import { type ShardSummary, summarise } from "./shard-summary.js";

/** A placement and the shard that made it (its members all live there). */
export interface ShardedPlacement extends Placement {
  shard: number;
}

export interface ShardedOptions {
  shards: number;
  scheduler?: SchedulerOptions;
  /** For the two-choice sample; seeded in tests and benches. */
  random?: () => number;
}

/**
 * A region past one object: nodes sharded by node-id hash across several schedulers (each one
 * shard's Durable Object), behind the interface of one. Placement across shards is the
 * coordinator's: from the summaries the shards publish it keeps the shards that could hold the
 * job, samples two of them and asks the one with more room of the allowed models first (the
 * power of two choices: near the balance of asking all, at the cost of asking two), then the
 * other, then the rest by room. A gang is placed within one shard, whose scheduler keeps it on one
 * site where it can. Reservations are keyed as in one scheduler; the coordinator remembers which
 * shard holds each key.
 */
export class ShardedScheduler {
  readonly shards: readonly Scheduler[];
  private readonly summaries: ShardSummary[];
  private readonly stale: boolean[];
  private readonly holders = new Map<string, number>();
  private readonly random: () => number;

  constructor(options: ShardedOptions) {
    if (!Number.isInteger(options.shards) || options.shards < 1) {
      throw new MeridianError(
        400,
        "invalid_shards",
        `a region needs at least one shard, not ${options.shards}`,
      );
    }
    this.shards = Array.from({ length: options.shards }, () => new Scheduler(options.scheduler));
    this.summaries = this.shards.map((shard, index) => summarise(index, shard.inventory));
    this.stale = this.shards.map(() => false);
    this.random = options.random ?? Math.random;
  }

  shardOf(nodeId: string): number {
    return shardOf(nodeId, this.shards.length);
  }

  upsertNode(node: SchedulerNode): void {
    const index = this.shardOf(node.id);
    this.shards[index]?.inventory.upsertNode(node);
    this.stale[index] = true;
  }

  removeNode(nodeId: string): void {
    const index = this.shardOf(nodeId);
    for (const lost of this.shards[index]?.inventory.removeNode(nodeId) ?? []) this.holders.delete(lost.key);
    this.stale[index] = true;
  }

  /** Lets every shard's workload profile learn a job's shape, as its queue would. */
  observe(demand: Demand): void {
    for (const shard of this.shards) shard.profile.observe(demand);
  }

  /** Places and reserves under `key` on one shard, or returns null when no shard can. */
  place(key: string, demand: Demand, meta: ReservationMeta = {}): ShardedPlacement | null {
    for (const index of this.choose(demand)) {
      const placement = this.placeOn(index, key, demand, meta);
      if (placement) return placement;
    }
    return null;
  }

  /**
   * The coordinator's step alone, as the Worker takes it: the shards to ask, in order, from the
   * published summaries (shard-order.ts). The running system asks the first only.
   */
  choose(demand: Demand): number[] {
    return shardOrder(this.published(), demand, this.random);
  }

  /** The chosen shard's step alone: places and reserves under `key` there, or null. */
  placeOn(index: number, key: string, demand: Demand, meta: ReservationMeta = {}): ShardedPlacement | null {
    if (this.holders.has(key)) return null;
    const placement = this.shards[index]?.place(key, demand, meta);
    if (!placement) return null;
    this.holders.set(key, index);
    this.stale[index] = true;
    return { ...placement, shard: index };
  }

  release(key: string): boolean {
    const index = this.holders.get(key);
    if (index === undefined) return false;
    this.holders.delete(key);
    this.shards[index]?.inventory.release(key);
    this.stale[index] = true;
    return true;
  }

  /** The summaries as published: a shard re-summarises once after any change, when next read. */
  published(): readonly ShardSummary[] {
    this.stale.forEach((stale, index) => {
      const shard = this.shards[index];
      if (stale && shard) this.summaries[index] = summarise(index, shard.inventory);
      this.stale[index] = false;
    });
    return this.summaries;
  }
}
