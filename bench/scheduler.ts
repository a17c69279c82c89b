/**
 * bench:scheduler — the scheduler module the Region object runs, over synthetic regions of 10,000
 * and 100,000 nodes with a realistic mix of the catalogue's GPUs: placements per second and the
 * p50/p99 time of one decision (decide + reserve), for single-node jobs and 8-node gangs.
 *
 * Then the same mix over 100,000 nodes sharded across 8 objects (`scheduler-shards.ts`).
 *
 *   npm run bench:scheduler   (tsx --expose-gc bench/scheduler.ts [--sizes 10000,100000]
 *                              [--shards 8] [--no-shards])
 *
 * Prints a table per size, then one JSON line last.
 */
import { performance } from "node:perf_hooks";
import { Scheduler } from "../src/durable/scheduler/index.js";
import { prng as random } from "../test/support/prng.js";
import { measureSharded } from "./scheduler-shards.js";
import { gangJob, measure, type Placer, singleJob, syntheticNodes } from "./scheduler-workload.js";

function run(size: number): Record<string, unknown> {
  const rng = random(size);
  const scheduler = new Scheduler();
  const placer: Placer = {
    place: (key, demand, meta) => scheduler.place(key, demand, meta),
    release: (key) => scheduler.inventory.release(key),
  };
  const buildStart = performance.now();
  const nodes = syntheticNodes(size, rng);
  for (const node of nodes) scheduler.inventory.upsertNode(node);
  const buildMs = Math.round(performance.now() - buildStart);
  const totalGpus = nodes.reduce((sum, node) => sum + node.gpus.length, 0);
  // Teach the workload profile the single-job mix, as arrivals through the queue would.
  for (let index = 0; index < 2000; index++) scheduler.profile.observe(singleJob(rng));
  // Warm up the JIT and bring the region to its steady utilisation before timing anything.
  measure(placer, totalGpus, 2000, singleJob, rng, 0.7, "warm");
  const single = measure(placer, totalGpus, size >= 100_000 ? 10_000 : 20_000, singleJob, rng, 0.7, "s");
  const gang = measure(placer, totalGpus, 500, gangJob, rng, 0.6, "g");
  const heapMib = Math.round(process.memoryUsage().heapUsed / 1024 / 1024);
  return { nodes: size, gpus: totalGpus, buildMs, heapMib, single, gang8: gang };
}

function parseSizes(): number[] {
  const flag = process.argv.indexOf("--sizes");
  const text = flag >= 0 ? process.argv[flag + 1] : undefined;
  if (!text) return [10_000, 100_000];
  return text.split(",").map((value) => {
    const size = Number(value);
    if (!Number.isInteger(size) || size < 100)
      throw new Error(`--sizes takes node counts ≥ 100, got "${value}"`);
    return size;
  });
}

const results: Record<string, unknown> = {};
for (const size of parseSizes()) {
  const result = run(size);
  results[`nodes${size}`] = result;
  console.log(`\n${size.toLocaleString("en")} nodes`);
  console.table({ single: result.single, "gang of 8": result.gang8 });
  console.log(`build ${result.buildMs} ms, heap ${result.heapMib} MiB, ${String(result.gpus)} GPUs`);
}
if (!process.argv.includes("--no-shards")) {
  const shards = Number(process.argv[process.argv.indexOf("--shards") + 1] ?? 8) || 8;
  const sharded = measureSharded(100_000, shards);
  results.sharded = sharded;
  console.log(
    `\n100,000 nodes in ${shards} shards (${sharded.nodesPerShard.min}-${sharded.nodesPerShard.max} nodes each)`,
  );
  console.table({
    single: sharded.single,
    "gang of 8": sharded.gang8,
    "one shard alone, single": sharded.shardAlone,
  });
  console.log(
    "placementsPerSecond: shards deciding in parallel (decisions / busiest shard's time); serialPerSecond: all on one core",
  );
  console.log(
    `one shard: heap ${sharded.shardHeapMib} MiB; idle agents ${sharded.heartbeatsPerSecond} requests/s at the paced rate = ${(sharded.budgetShare * 100).toFixed(1)}% of an object's budget`,
  );
}
console.log(JSON.stringify(results));
