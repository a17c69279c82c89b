/**
 * bench:replay — replays an Alibaba GPU-cluster trace (the "openb" format of cluster-trace-gpu-v2023)
 * through the scheduler module the Region object runs, for Meridian's policy and for the first-fit
 * and best-fit baselines, in two experiments:
 *
 * (a) fragmentation, the FGD paper's protocol (Weng et al., USENIX ATC'23): pods arrive in trace
 *     order (cycling when the list runs out) and never leave; a pod no node can take fails and is
 *     skipped; once the arrived GPU demand reaches the cluster's GPU capacity, report the share of
 *     GPU capacity (in thousandths of a GPU) left unallocated, and the failed pods.
 * (b) time replay: pods arrive at creation_time, hold their resources for deletion_time −
 *     scheduled_time, and wait in the queue while nothing fits: mean and p95 queueing delay, and
 *     the time-weighted GPU allocation rate.
 *
 *   npm run bench:replay [-- --nodes <nodes.csv> --pods <pods.csv>]
 *
 * Prints a table, then one JSON line last: {"meridian":{…},"bestFit":{…},"firstFit":{…}}.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import {
  type Demand,
  type Policy,
  Scheduler,
  type SchedulerNode,
  WHOLE_GPU_MILLI,
} from "../src/durable/scheduler/index.js";

const DATA = path.join(import.meta.dirname, "data", "alibaba-openb-2023");

interface Pod {
  name: string;
  demand: Demand;
  /** Seconds from the trace start. */
  createdAt: number;
  /** How long it holds its resources once started, in seconds. */
  holdSeconds: number;
}

function readCsv(file: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(file, "utf8").trim().split(/\r?\n/);
  if (!header) throw new Error(`${file} is empty`);
  const columns = header.split(",");
  return lines.map((line) => {
    const cells = line.split(",");
    return Object.fromEntries(columns.map((column, index) => [column, cells[index] ?? ""]));
  });
}

function need(row: Record<string, string>, column: string, file: string): number {
  const value = Number(row[column]);
  if (row[column] === undefined || row[column] === "" || !Number.isFinite(value)) {
    throw new Error(`${file}: column ${column} is missing or not a number in ${JSON.stringify(row)}`);
  }
  return value;
}

function readNodes(file: string): SchedulerNode[] {
  return readCsv(file).map((row) => {
    const gpuCount = need(row, "gpu", file);
    const model = row.model || undefined;
    return {
      id: row.sn ?? "",
      region: "trace",
      gpus: Array.from({ length: gpuCount }, (_, index) => ({
        uuid: `${row.sn}-gpu${index}`,
        model,
        vramMib: 0,
      })),
      cpuMilli: need(row, "cpu_milli", file),
      memoryMib: need(row, "memory_mib", file),
      // The trace has no prices or reputations: every node is equal but for its hardware.
      pricePerGpuHourMicros: 0,
      labels: {},
      schedulable: true,
    };
  });
}

function readPods(file: string): Pod[] {
  return readCsv(file).map((row) => {
    const gpus = need(row, "num_gpu", file);
    const spec = row.gpu_spec ? [...new Set(row.gpu_spec.split("|"))] : undefined;
    const createdAt = Number(row.creation_time || 0);
    const deletedAt = Number(row.deletion_time || createdAt);
    // Pods the cluster never scheduled have no scheduled_time: they held nothing, but replayed
    // they would run from creation to deletion.
    const startedAt = row.scheduled_time ? Number(row.scheduled_time) : createdAt;
    return {
      name: row.name ?? "",
      createdAt,
      holdSeconds: Math.max(1, deletedAt - startedAt),
      demand: {
        gpus,
        gpuMilli: gpus === 1 ? need(row, "gpu_milli", file) : WHOLE_GPU_MILLI,
        cpuMilli: need(row, "cpu_milli", file),
        memoryMib: need(row, "memory_mib", file),
        nodes: 1,
        strategy: "balanced",
        constraints: { gpuModels: gpus > 0 ? spec : undefined },
      },
    };
  });
}

const podGpuMilli = (demand: Demand): number => demand.gpus * demand.gpuMilli;

interface Fragmentation {
  unallocatedGpuFraction: number;
  failedPods: number;
  failedGpuPods: number;
  arrivedPods: number;
}

/** Experiment (a). */
function fragmentation(policy: Policy, nodes: readonly SchedulerNode[], pods: readonly Pod[]): Fragmentation {
  const scheduler = new Scheduler({ policy });
  for (const node of nodes) scheduler.inventory.upsertNode(node);
  const capacity = nodes.reduce((sum, node) => sum + node.gpus.length, 0) * WHOLE_GPU_MILLI;
  let arrived = 0;
  let allocated = 0;
  let failedPods = 0;
  let failedGpuPods = 0;
  let count = 0;
  while (arrived < capacity && pods.length > 0) {
    const pod = pods[count % pods.length];
    if (!pod) break;
    count++;
    arrived += podGpuMilli(pod.demand);
    // Meridian learns the workload's shape from arrivals, as its queue does.
    scheduler.profile.observe(pod.demand);
    if (scheduler.place(`${pod.name}#${count}`, pod.demand)) allocated += podGpuMilli(pod.demand);
    else {
      failedPods++;
      if (pod.demand.gpus > 0) failedGpuPods++;
    }
  }
  return {
    unallocatedGpuFraction: round((capacity - allocated) / capacity, 4),
    failedPods,
    failedGpuPods,
    arrivedPods: count,
  };
}

interface TimeReplay {
  allocationRate: number;
  meanQueueSeconds: number;
  p95QueueSeconds: number;
  maxQueueSeconds: number;
  neverStarted: number;
}

/** Experiment (b): an event simulation whose clock is the trace's. */
function timeReplay(policy: Policy, nodes: readonly SchedulerNode[], pods: readonly Pod[]): TimeReplay {
  let now = 0;
  const scheduler = new Scheduler<Pod>({ policy, clock: { now: () => now * 1000 } });
  for (const node of nodes) scheduler.inventory.upsertNode(node);
  const capacity = nodes.reduce((sum, node) => sum + node.gpus.length, 0) * WHOLE_GPU_MILLI;
  const arrivals = [...pods].sort((a, b) => a.createdAt - b.createdAt);
  // Departures as a sorted list with a moving head; pods are few enough for sorted insertion.
  const departures: { at: number; key: string; gpuMilli: number }[] = [];
  const delays: number[] = [];
  let next = 0;
  let allocated = 0;
  let area = 0;
  const start = arrivals[0]?.createdAt ?? 0;
  let last = start;
  const advance = (to: number): void => {
    area += allocated * (to - last);
    last = to;
    now = to;
  };
  while (
    next < arrivals.length ||
    (departures.length > 0 && scheduler.queue.size > 0) ||
    departures.length > 0
  ) {
    const arrival = arrivals[next];
    const departure = departures[0];
    const at = Math.min(
      arrival?.createdAt ?? Number.POSITIVE_INFINITY,
      departure?.at ?? Number.POSITIVE_INFINITY,
    );
    if (!Number.isFinite(at)) break;
    advance(at);
    while (departures[0] && departures[0].at <= at) {
      const gone = departures.shift();
      if (!gone) break;
      scheduler.inventory.release(gone.key);
      allocated -= gone.gpuMilli;
    }
    while (arrivals[next] && (arrivals[next]?.createdAt ?? 0) <= at) {
      const pod = arrivals[next];
      next++;
      if (!pod) break;
      scheduler.enqueue({
        id: `${pod.name}@${next}`,
        accountId: "trace",
        priority: 4,
        demand: pod.demand,
        // A user's timeout is an upper bound on the run; the trace's own duration is the tightest one.
        maxRunMs: pod.holdSeconds * 1000,
        enqueuedAt: pod.createdAt * 1000,
        payload: pod,
      });
    }
    for (const { job } of scheduler.schedule()) {
      const pod = job.payload;
      delays.push(at - pod.createdAt);
      allocated += podGpuMilli(pod.demand);
      const entry = { at: at + pod.holdSeconds, key: job.id, gpuMilli: podGpuMilli(pod.demand) };
      let low = 0;
      let high = departures.length;
      while (low < high) {
        const mid = (low + high) >>> 1;
        if ((departures[mid]?.at ?? 0) <= entry.at) low = mid + 1;
        else high = mid;
      }
      departures.splice(low, 0, entry);
    }
  }
  delays.sort((a, b) => a - b);
  const span = Math.max(1, last - start);
  return {
    allocationRate: round(area / span / capacity, 4),
    meanQueueSeconds: round(delays.reduce((sum, delay) => sum + delay, 0) / Math.max(1, delays.length), 1),
    p95QueueSeconds: round(delays[Math.min(delays.length - 1, Math.floor(delays.length * 0.95))] ?? 0, 1),
    maxQueueSeconds: round(delays[delays.length - 1] ?? 0, 1),
    neverStarted: scheduler.queue.size,
  };
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  const value = index >= 0 ? process.argv[index + 1] : undefined;
  if (index >= 0 && !value) throw new Error(`${name} needs a file`);
  return value ?? fallback;
}

const nodesFile = flag("--nodes", path.join(DATA, "openb_node_list_gpu_node.csv"));
const podsFile = flag("--pods", path.join(DATA, "openb_pod_list_default.csv"));
const nodes = readNodes(nodesFile);
const pods = readPods(podsFile);
console.log(
  `${path.basename(nodesFile)}: ${nodes.length} nodes, ${nodes.reduce((sum, node) => sum + node.gpus.length, 0)} GPUs; ${path.basename(podsFile)}: ${pods.length} pods`,
);
const policies = { meridian: "meridian", bestFit: "bestFit", firstFit: "firstFit" } as const;
const results: Record<string, Record<string, number>> = {};
for (const [name, policy] of Object.entries(policies)) {
  const started = performance.now();
  const a = fragmentation(policy, nodes, pods);
  const b = timeReplay(policy, nodes, pods);
  results[name] = { ...a, ...b, seconds: round((performance.now() - started) / 1000, 2) };
}
console.table(results);
const meridian = results.meridian?.unallocatedGpuFraction ?? 0;
const bestFit = results.bestFit?.unallocatedGpuFraction ?? 0;
if (bestFit > 0)
  console.log(
    `meridian leaves ${round((1 - meridian / bestFit) * 100, 1)}% fewer GPUs unallocated than best-fit`,
  );
console.log(JSON.stringify(results));
