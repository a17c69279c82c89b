/**
 * The sharded half of bench:scheduler: a region of `size` modelled nodes split by node-id hash
 * across `shards` schedulers behind one coordinator (`ShardedScheduler`, two-choice sampling over
 * the shards' published summaries), driven by the same job mix as one object, as the running
 * system takes it (region-coordinator.ts): the coordinator picks one shard, that shard decides.
 * Shards are separate objects, so the region's rate is the decisions over the busiest shard's
 * time; the coordinator is stateless Worker code run per request (its p99 is reported apart), and
 * the rate of everything on one core is reported too.
 * Reports placements per second and decision times, each shard's heap (what one shard retains
 * after 5,000 placements at 70% utilisation), and each shard's share of an object's
 * request budget at the paced heartbeat rate.
 */
import { performance } from "node:perf_hooks";
import { POLL_WAIT_MS } from "../src/durable/lease.js";
import { OBJECT_REQUESTS_PER_SECOND, pacingFor } from "../src/durable/poll-pacing.js";
import {
  type Demand,
  fallbackShard,
  Scheduler,
  ShardedScheduler,
  shardOf,
} from "../src/durable/scheduler/index.js";
import { prng as random } from "../test/support/prng.js";
import { gangJob, measure, percentile, singleJob, syntheticNodes } from "./scheduler-workload.js";

const MIB = 1024 * 1024;

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with --expose-gc (npm run bench:scheduler does)");
  gc();
  gc();
}

/**
 * Heap one shard retains: its nodes, its indexes, its reservations at 70% utilisation. Measured
 * as the heap with the shard alive less the heap once it is dropped (both after a full
 * collection), so garbage left by earlier parts of the run cannot blur (or negate) the figure.
 */
function shardHeapMib(size: number, shards: number): number {
  const alive = buildOneShard(size, shards);
  // Everything the shard held was local to buildOneShard: now it is all garbage.
  collect();
  const gone = process.memoryUsage().heapUsed;
  return Math.round(((alive - gone) / MIB) * 10) / 10;
}

/** Builds shard 0 of the region and loads it; the heap with it alive, after a full collection. */
function buildOneShard(size: number, shards: number): number {
  const rng = random(size);
  const mine = syntheticNodes(size, rng).filter((node) => shardOf(node.id, shards) === 0);
  const scheduler = new Scheduler();
  for (const node of mine) scheduler.inventory.upsertNode(node);
  for (let index = 0; index < 2000; index++) scheduler.profile.observe(singleJob(rng));
  const gpus = mine.reduce((sum, node) => sum + node.gpus.length, 0);
  measure(
    {
      place: (key, demand, meta) => scheduler.place(key, demand, meta),
      release: (key) => scheduler.inventory.release(key),
    },
    gpus,
    5000,
    singleJob,
    rng,
    0.7,
    "h",
  );
  collect();
  const alive = process.memoryUsage().heapUsed;
  if (scheduler.inventory.size !== mine.length) throw new Error("shard lost nodes");
  return alive;
}

/**
 * Shard 0 alone in this process, as a separate object holds it: its own nodes on the heap and no
 * other shard's. The same decisions as `single`; the in-process sharded figures share one heap
 * (all 100,000 nodes, so collections and caches cost more) and read slower per decision.
 */
function oneShardAlone(size: number, shards: number): ReturnType<typeof measure> {
  const rng = random(size + shards);
  const mine = syntheticNodes(size, rng).filter((node) => shardOf(node.id, shards) === 0);
  const scheduler = new Scheduler();
  for (const node of mine) scheduler.inventory.upsertNode(node);
  for (let index = 0; index < 2000; index++) scheduler.profile.observe(singleJob(rng));
  const gpus = mine.reduce((sum, node) => sum + node.gpus.length, 0);
  const placer = {
    place: (key: string, demand: Demand, meta: { accountId?: string }) => scheduler.place(key, demand, meta),
    release: (key: string) => scheduler.inventory.release(key),
  };
  measure(placer, gpus, 2000, singleJob, rng, 0.7, "warm");
  const result = measure(placer, gpus, 20_000, singleJob, rng, 0.7, "s");
  collect();
  return result;
}

/** One sharded run: the coordinator's step and the chosen shard's, timed apart. */
export interface ShardedMeasured {
  decisions: number;
  placed: number;
  /** Decisions whose chosen shard could not place them (the running system queues them there). */
  queuedOnShard: number;
  /** Shards deciding in parallel, as separate objects do: decisions over the busiest shard's time. */
  placementsPerSecond: number;
  /** Everything on one core, coordinator included: decisions over the summed time. */
  serialPerSecond: number;
  /** One decision: the coordinator's choice plus the chosen shard's placement. */
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  coordinatorP99Ms: number;
}

/**
 * `decisions` placements against the region kept at about `utilisation` of its GPUs, taken as the
 * running system takes them: the coordinator chooses one shard from the published summaries, that
 * shard alone decides (a job it cannot place waits there). Random held jobs are released
 * (untimed) whenever the region is fuller.
 */
function measureWired(
  region: ShardedScheduler,
  totalGpus: number,
  decisions: number,
  makeJob: (rng: () => number) => Demand,
  rng: () => number,
  utilisation: number,
  prefix: string,
): ShardedMeasured {
  const held: { key: string; gpus: number }[] = [];
  const shardBusy = region.shards.map(() => 0);
  let heldGpus = 0;
  let coordinatorBusy = 0;
  let placed = 0;
  let queuedOnShard = 0;
  const times: number[] = [];
  const coordinatorTimes: number[] = [];
  for (let index = 0; index < decisions; index++) {
    const job = makeJob(rng);
    const key = `${prefix}${index}`;
    const start = performance.now();
    const chosen = region.choose(job)[0] ?? fallbackShard(region.published());
    const choseAt = performance.now();
    const placement = region.placeOn(chosen, key, job, { accountId: `acct_${index % 50}` });
    const end = performance.now();
    coordinatorBusy += choseAt - start;
    shardBusy[chosen] = (shardBusy[chosen] ?? 0) + (end - choseAt);
    times.push(end - start);
    coordinatorTimes.push(choseAt - start);
    if (placement) {
      placed++;
      held.push({ key, gpus: job.gpus * job.nodes });
      heldGpus += job.gpus * job.nodes;
    } else queuedOnShard++;
    while (heldGpus > totalGpus * utilisation && held.length > 0) {
      const [gone] = held.splice(Math.floor(rng() * held.length), 1);
      if (!gone) break;
      region.release(gone.key);
      heldGpus -= gone.gpus;
    }
  }
  for (const entry of held) region.release(entry.key);
  times.sort((a, b) => a - b);
  coordinatorTimes.sort((a, b) => a - b);
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  const busiest = Math.max(...shardBusy);
  const serial = shardBusy.reduce((sum, busy) => sum + busy, 0) + coordinatorBusy;
  return {
    decisions,
    placed,
    queuedOnShard,
    placementsPerSecond: Math.round(decisions / (busiest / 1000)),
    serialPerSecond: Math.round(decisions / (serial / 1000)),
    p50Ms: round(percentile(times, 50)),
    p99Ms: round(percentile(times, 99)),
    maxMs: round(times[times.length - 1] ?? 0),
    coordinatorP99Ms: round(percentile(coordinatorTimes, 99)),
  };
}

export interface ShardedResult {
  nodes: number;
  shards: number;
  nodesPerShard: { min: number; max: number };
  single: ShardedMeasured;
  gang8: ShardedMeasured;
  shardHeapMib: number;
  /** Shard 0's single-node decisions with only its own nodes in the process (oneShardAlone). */
  shardAlone: ReturnType<typeof measure>;
  /** Requests/s one shard's idle agents make at the paced rate, and its share of the budget. */
  heartbeatsPerSecond: number;
  budgetShare: number;
}

export function measureSharded(size: number, shards: number): ShardedResult {
  // Measured first, alone: with the whole sharded region alive a collection in between would
  // free the rest of the run's garbage and blur the figure.
  const shardHeap = shardHeapMib(size, shards);
  const shardAlone = oneShardAlone(size, shards);
  const rng = random(size + shards);
  const region = new ShardedScheduler({ shards, random: random(shards) });
  const nodes = syntheticNodes(size, rng);
  for (const node of nodes) region.upsertNode(node);
  const totalGpus = nodes.reduce((sum, node) => sum + node.gpus.length, 0);
  const perShard = region.shards.map((shard) => shard.inventory.size);
  for (let index = 0; index < 2000; index++) region.observe(singleJob(rng));
  const started = performance.now();
  measureWired(region, totalGpus, 2000, singleJob, rng, 0.7, "warm");
  const single = measureWired(region, totalGpus, 20_000, singleJob, rng, 0.7, "s");
  const gang8 = measureWired(region, totalGpus, 500, gangJob, rng, 0.6, "g");
  const wallMs = performance.now() - started;
  const largest = Math.max(...perShard);
  const pacing = pacingFor(largest, POLL_WAIT_MS, 0, 0);
  // An idle agent holds one poll for POLL_WAIT_MS, then pauses: one request per cycle.
  const heartbeatsPerSecond = largest / ((POLL_WAIT_MS + pacing.pauseMs) / 1000);
  if (wallMs <= 0) throw new Error("no time measured");
  return {
    nodes: size,
    shards,
    nodesPerShard: { min: Math.min(...perShard), max: largest },
    single,
    gang8,
    shardHeapMib: shardHeap,
    shardAlone,
    heartbeatsPerSecond: Math.round(heartbeatsPerSecond),
    budgetShare: Math.round((heartbeatsPerSecond / OBJECT_REQUESTS_PER_SECOND) * 1000) / 1000,
  };
}
