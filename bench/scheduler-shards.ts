/**
 * The sharded half of bench:scheduler: a region of `size` modelled nodes split by node-id hash
 * across `shards` schedulers behind one coordinator (`ShardedScheduler`, two-choice sampling over
 * the shards' published summaries), driven by the same job mix as one object. Reports placements
 * per second and decision times through the coordinator, each shard's heap (what one shard retains
 * after 5,000 placements at 70% utilisation), and each shard's share of an object's
 * request budget at the paced heartbeat rate.
 */
import { performance } from "node:perf_hooks";
import { POLL_WAIT_MS } from "../src/durable/lease.js";
import { OBJECT_REQUESTS_PER_SECOND, pacingFor } from "../src/durable/poll-pacing.js";
import { Scheduler, ShardedScheduler, shardOf } from "../src/durable/scheduler/index.js";
import { prng as random } from "../test/support/prng.js";
import { gangJob, type Measured, measure, singleJob, syntheticNodes } from "./scheduler-workload.js";

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

export interface ShardedResult {
  nodes: number;
  shards: number;
  nodesPerShard: { min: number; max: number };
  single: Measured;
  gang8: Measured;
  shardHeapMib: number;
  /** Requests/s one shard's idle agents make at the paced rate, and its share of the budget. */
  heartbeatsPerSecond: number;
  budgetShare: number;
}

export function measureSharded(size: number, shards: number): ShardedResult {
  // Measured first, alone: with the whole sharded region alive a collection in between would
  // free the rest of the run's garbage and blur the figure.
  const shardHeap = shardHeapMib(size, shards);
  const rng = random(size + shards);
  const region = new ShardedScheduler({ shards, random: random(shards) });
  const nodes = syntheticNodes(size, rng);
  for (const node of nodes) region.upsertNode(node);
  const totalGpus = nodes.reduce((sum, node) => sum + node.gpus.length, 0);
  const perShard = region.shards.map((shard) => shard.inventory.size);
  for (let index = 0; index < 2000; index++) region.observe(singleJob(rng));
  const placer = {
    place: (key: string, demand: Parameters<typeof region.place>[1], meta: { accountId: string }) =>
      region.place(key, demand, meta),
    release: (key: string) => region.release(key),
  };
  const started = performance.now();
  measure(placer, totalGpus, 2000, singleJob, rng, 0.7, "warm");
  const single = measure(placer, totalGpus, 20_000, singleJob, rng, 0.7, "s");
  const gang8 = measure(placer, totalGpus, 500, gangJob, rng, 0.6, "g");
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
    heartbeatsPerSecond: Math.round(heartbeatsPerSecond),
    budgetShare: Math.round((heartbeatsPerSecond / OBJECT_REQUESTS_PER_SECOND) * 1000) / 1000,
  };
}
