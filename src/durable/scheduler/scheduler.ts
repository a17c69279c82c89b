import { type Hold, holdFor } from "./backfill.js";
import type { Demand } from "./demand.js";
import { asked, fittingGroup } from "./feasibility.js";
import { WorkloadProfile } from "./fragmentation.js";
import { chooseGang, type Gang } from "./gang.js";
import {
  type GpuGroup,
  Inventory,
  type NodeAllocation,
  type NodeState,
  type ReservationMeta,
} from "./inventory.js";
import { JobQueue, type QueuedJob } from "./queue.js";
import { hostRatio, modelPressure } from "./scarcity.js";
import type { ScoreContext, WeightedTerm } from "./score-terms/index.js";
import {
  byScore,
  type Candidate,
  makeCandidate,
  type Policy,
  scoreCandidates,
  streamedScore,
  streamingTerms,
} from "./scoring.js";

/** The time source; the Region object passes its own, tests a fake. */
export interface Clock {
  now(): number;
}

export interface SchedulerOptions {
  policy?: Policy;
  /** Most nodes that pass every constraint a decision scores (for gangs, at least 32 per member). */
  maxCandidates?: number;
  /** Most candidates taken from one bucket (one model, one free-GPU count), cheapest first. */
  perBucket?: number;
  /** Score every fitting node instead of a bounded sample (the baselines need that to be themselves). */
  exhaustive?: boolean;
  /** Let jobs behind a blocked one run where and when they do not delay it. */
  backfill?: boolean;
  clock?: Clock;
  profile?: WorkloadProfile;
  /**
   * An account's recent use (decayed), in the same units as what it holds now; added to its
   * holdings when the queue orders accounts, so one that just had many jobs placed yields to others.
   */
  history?: (accountId: string) => number;
}

/** One node of a placement. Rank 0 is the gang's first member (its rendezvous master). */
export interface PlacedNode {
  rank: number;
  nodeId: string;
  gpuUuids: string[];
  allocation: NodeAllocation;
  pricePerGpuHourMicros: number;
  /** CPU-only work: the node's price per vCPU-hour, fixed with the placement (absent: the table's). */
  pricePerVcpuHourMicros?: number;
}

export interface Placement {
  nodes: PlacedNode[];
  /** Worst estimated round trip between two members (0 for one node). */
  maxRttMs: number;
}

/** A queued job that a scheduling pass placed, with its reservation already taken. */
export interface Started<T> {
  job: QueuedJob<T>;
  placement: Placement;
}

const DEFAULTS = { policy: "meridian", maxCandidates: 128, perBucket: 4 } as const;
const GANG_CANDIDATES_PER_MEMBER = 32;
/** Sites among the best candidates whose other members a gang search also looks at. */
const GANG_SITES = 8;

/**
 * The region scheduler: a live inventory, a queue, and the decisions that join them. Pure and
 * synchronous: it does no I/O and reads time only through its clock, so it runs the same in the
 * Region Durable Object, in tests and in benchmarks. One call runs to completion before the
 * next, so a reservation decided is a reservation taken.
 *
 * Reservations are keyed by the caller (the Region object uses the job id: one live attempt per
 * job) and released with `inventory.release(key)` when the attempt ends.
 */
export class Scheduler<T = undefined> {
  readonly inventory = new Inventory();
  readonly queue = new JobQueue<T>();
  readonly profile: WorkloadProfile;
  readonly policy: Policy;
  private readonly clock: Clock;
  private readonly maxCandidates: number;
  private readonly perBucket: number;
  private readonly backfill: boolean;
  private readonly history: ((accountId: string) => number) | undefined;

  constructor(options: SchedulerOptions = {}) {
    this.policy = options.policy ?? DEFAULTS.policy;
    const exhaustive = options.exhaustive ?? this.policy !== "meridian";
    this.maxCandidates = exhaustive
      ? Number.POSITIVE_INFINITY
      : (options.maxCandidates ?? DEFAULTS.maxCandidates);
    this.perBucket = exhaustive ? Number.POSITIVE_INFINITY : (options.perBucket ?? DEFAULTS.perBucket);
    this.backfill = options.backfill ?? this.policy === "meridian";
    this.clock = options.clock ?? { now: () => Date.now() };
    this.profile = options.profile ?? new WorkloadProfile();
    this.history = options.history;
  }

  /** Where `demand` would go now, or null when it does not fit; reserves nothing. */
  decide(demand: Demand): Placement | null {
    const streaming = demand.nodes === 1 ? streamingTerms(this.policy, demand) : undefined;
    if (streaming) return this.decideStreaming(demand, streaming);
    const size = demand.nodes;
    const limit =
      size > 1 ? Math.max(this.maxCandidates, size * GANG_CANDIDATES_PER_MEMBER) : this.maxCandidates;
    const perBucket = size > 1 ? Math.max(this.perBucket, size * 2) : this.perBucket;
    const classes = this.policy === "meridian" ? this.profile.snapshot() : [];
    const ratio = this.policy === "meridian" ? hostRatio(classes) : undefined;
    const candidates: Candidate[] = [];
    const checks = asked(demand);
    const add = (state: NodeState): void => {
      const group = fittingGroup(state, demand, checks);
      if (group !== null) candidates.push(makeCandidate(state, group, demand, this.policy, classes, ratio));
    };
    let bucket = -1;
    let inBucket = 0;
    const maxPrice = demand.gpus > 0 ? demand.constraints.maxPricePerGpuHourMicros : undefined;
    this.inventory.visitCandidates(demand, (state, bucketNumber, byPrice) => {
      if (bucketNumber !== bucket) {
        bucket = bucketNumber;
        inBucket = 0;
      }
      // Buckets are sorted by price: past the cap, the rest of the bucket is dearer still.
      if (byPrice && maxPrice !== undefined && state.node.pricePerGpuHourMicros > maxPrice)
        return "nextBucket";
      const before = candidates.length;
      add(state);
      if (candidates.length > before) inBucket++;
      if (candidates.length >= limit) return "stop";
      return inBucket >= perBucket ? "nextBucket" : "next";
    });
    if (candidates.length < size) return null;
    if (size > 1) this.addSiteMembers(candidates, add);
    // A job without GPUs spends a scarce model too when its CPU strands the node's GPUs.
    const pressure =
      this.policy === "meridian" ? modelPressure(classes, this.inventory.modelCapacity()) : undefined;
    scoreCandidates(candidates, demand, this.policy, pressure);
    const gang = size === 1 ? bestOne(candidates) : chooseGang(candidates.sort(byScore), size);
    return gang ? toPlacement(gang, demand) : null;
  }

  /**
   * One node for a policy whose terms are figures of the node alone (first-fit, best-fit):
   * keeping the best node while streaming beats building and sorting a candidate list.
   */
  private decideStreaming(demand: Demand, terms: readonly WeightedTerm[]): Placement | null {
    let best: NodeState | undefined;
    let bestGroup: GpuGroup | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    const context: ScoreContext = { demand, pressure: new Map(), fallbackTflops: 1 };
    // One probe reused for every node: streaming terms read only its node and group.
    let probe: Candidate | undefined;
    const checks = asked(demand);
    this.inventory.visitCandidates(demand, (state) => {
      const group = fittingGroup(state, demand, checks);
      if (group === null) return "next";
      if (probe) {
        probe.state = state;
        probe.group = group;
      } else probe = { state, group, gpuIndices: [], fragmentationDelta: 0, strandedDelta: 0, score: 0 };
      const score = streamedScore(terms, probe, context);
      if (score > bestScore || (score === bestScore && best && state.seq < best.seq)) {
        best = state;
        bestGroup = group;
        bestScore = score;
      }
      return "next";
    });
    if (!best) return null;
    const member = makeCandidate(best, bestGroup, demand, this.policy, []);
    return toPlacement({ members: [member], maxRttMs: 0 }, demand);
  }

  /**
   * Decides and reserves under `key` in one step: every node of the placement is taken, or none
   * is. Null when it does not fit or `key` already holds a reservation.
   */
  place(key: string, demand: Demand, meta: ReservationMeta = {}): Placement | null {
    if (this.inventory.reservation(key)) return null;
    const placement = this.decide(demand);
    if (!placement) return null;
    const taken = this.inventory.reserve(
      key,
      placement.nodes.map((node) => node.allocation),
      meta,
    );
    return taken ? placement : null;
  }

  /** Queues a job (and lets the workload profile learn its shape); false if already queued. */
  enqueue(job: QueuedJob<T>): boolean {
    if (!this.queue.enqueue(job)) return false;
    this.profile.observe(job.demand);
    return true;
  }

  /**
   * One scheduling pass: tries queued jobs in queue order and places (and reserves) each that
   * fits, holding room for the first job that does not (backfill). Returns what started.
   */
  schedule(): Started<T>[] {
    const now = this.clock.now();
    const started: Started<T>[] = [];
    let hold: Hold | null = null;
    // Within one pass capacity only shrinks: a job at least as big as one that did not fit, with
    // the same constraints, will not fit either, and is not searched for again.
    const misfits = new Map<string, number[][]>();
    const usage = (accountId: string): number =>
      this.inventory.accountUsage(accountId) + (this.history?.(accountId) ?? 0);
    for (const job of this.queue.ordered(usage)) {
      const endsBeforeHold =
        hold !== null && job.maxRunMs !== undefined && now + job.maxRunMs <= hold.startAt;
      const held = hold !== null && !endsBeforeHold;
      const demand = held && hold ? avoiding(job.demand, hold.nodeIds) : job.demand;
      const shape = shapeKey(job.demand, held);
      const size = [job.demand.gpuMilli, job.demand.cpuMilli, job.demand.memoryMib];
      const known = shape === undefined ? undefined : misfits.get(shape);
      if (known?.some((smaller) => smaller.every((value, index) => value <= (size[index] ?? 0)))) continue;
      const placement = this.place(job.id, demand, {
        accountId: job.accountId,
        expectedEndAt: job.maxRunMs === undefined ? undefined : now + job.maxRunMs,
      });
      if (placement) {
        this.queue.remove(job.id);
        started.push({ job, placement });
        continue;
      }
      if (shape !== undefined) misfits.set(shape, [...(known ?? []), size]);
      if (!hold && this.backfill) hold = holdFor(job.id, job.demand, this.inventory, now);
    }
    return started;
  }

  /** For a gang, the other fitting members of the sites its best candidates are on. */
  private addSiteMembers(candidates: Candidate[], add: (state: NodeState) => void): void {
    const seen = new Set(candidates.map((candidate) => candidate.state));
    const sites: string[] = [];
    for (const candidate of candidates) {
      const site = candidate.state.node.site;
      if (site !== undefined && !sites.includes(site)) sites.push(site);
      if (sites.length >= GANG_SITES) break;
    }
    for (const site of sites) {
      for (const state of this.inventory.siteMembers(site)) {
        if (seen.has(state)) continue;
        seen.add(state);
        add(state);
      }
    }
  }
}

function toPlacement(gang: Gang, demand: Demand): Placement {
  return {
    maxRttMs: gang.maxRttMs,
    nodes: gang.members.map((member, rank) => {
      const node = member.state.node;
      const gpuUuids = member.gpuIndices.flatMap((index) => node.gpus[index]?.uuid ?? []);
      return {
        rank,
        nodeId: node.id,
        gpuUuids,
        pricePerGpuHourMicros: node.pricePerGpuHourMicros,
        ...(demand.gpus === 0 && node.pricePerVcpuHourMicros !== undefined
          ? { pricePerVcpuHourMicros: node.pricePerVcpuHourMicros }
          : {}),
        allocation: {
          nodeId: node.id,
          gpus: gpuUuids.map((uuid) => ({ uuid, milli: demand.gpuMilli })),
          cpuMilli: demand.cpuMilli,
          memoryMib: demand.memoryMib,
        },
      };
    }),
  };
}

/** The single best candidate, without sorting them all. */
function bestOne(candidates: readonly Candidate[]): Gang | null {
  let best: Candidate | undefined;
  for (const candidate of candidates) if (!best || byScore(candidate, best) < 0) best = candidate;
  return best ? { members: [best], maxRttMs: 0 } : null;
}

/** The demand with more nodes to avoid. */
function avoiding(demand: Demand, nodeIds: ReadonlySet<string>): Demand {
  const own = demand.constraints.excludeNodes;
  const excludeNodes = own ? new Set([...own, ...nodeIds]) : nodeIds;
  return { ...demand, constraints: { ...demand.constraints, excludeNodes } };
}

/** A key equal for jobs with the same GPU count and constraints; undefined for own exclusions. */
function shapeKey(demand: Demand, held: boolean): string | undefined {
  const { excludeNodes, ...constraints } = demand.constraints;
  if (excludeNodes) return undefined;
  return `${held ? "h" : "-"}${demand.gpus}:${demand.nodes}:${JSON.stringify(constraints)}`;
}
