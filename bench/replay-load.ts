/**
 * The load sweep of `bench:replay`: the trace's own arrival times give an offered load of 0.23%
 * of the cluster's GPUs (the pod list is a sample of a long trace), so replayed as recorded nothing
 * ever queues. Here the arrival times are compressed, keeping their order and relative gaps, until
 * the offered load — GPU demand × recorded duration, over GPU capacity × the arrival span — is a
 * chosen share of capacity; each pod then holds its resources for its recorded duration.
 *
 * Reported per policy: utilisation (time-weighted allocated GPU share over the second pass's
 * arrivals, once the first has filled the cluster), the mean and p95 queue wait of the pods that
 * started, and the pods never started: those still waiting at the horizon (twice the arrival
 * span), including any that no node could ever hold.
 */
import { type Policy, Scheduler } from "../src/durable/scheduler/index.js";
import { podDemand, schedulerNode } from "./replay-fgd.js";
import { gpuCapacityMilli, podGpuMilli, type TraceNode, type TracePod } from "./replay-trace.js";

export interface LoadResult {
  offeredLoad: number;
  utilisation: number;
  started: number;
  meanWaitSeconds: number;
  p95WaitSeconds: number;
  neverStarted: number;
}

/** Passes over the pod list: one holds about 1.05× the cluster's GPUs, too few for 120%. */
export const PASSES = 2;

/**
 * Offered load of `pods` over their arrival span W: the work that arrives (GPU × duration, each
 * duration counted up to W) over the work the cluster can do in W. Durations are heavy-tailed
 * (half the trace's GPU-seconds come from pods that run for more than 50 days), so counting whole
 * durations would call a window full that is mostly idle.
 */
export function offeredLoad(pods: readonly TracePod[], capacityMilli: number): number {
  let start = Number.POSITIVE_INFINITY;
  let end = Number.NEGATIVE_INFINITY;
  for (const pod of pods) {
    start = Math.min(start, pod.createdAt);
    end = Math.max(end, pod.createdAt);
  }
  const span = Math.max(1e-9, end - start);
  let asked = 0;
  for (const pod of pods) asked += podGpuMilli(pod) * Math.min(pod.holdSeconds, span);
  return asked / (capacityMilli * span);
}

/**
 * The pod list, `PASSES` times in a row, with arrival times scaled (order and relative gaps kept)
 * so the offered load is `load`; the factor is found by bisection, as the load falls
 * monotonically with the span.
 */
export function compressed(pods: readonly TracePod[], capacityMilli: number, load: number): TracePod[] {
  const sorted = [...pods].sort((a, b) => a.createdAt - b.createdAt);
  const start = sorted[0]?.createdAt ?? 0;
  const span = (sorted[sorted.length - 1]?.createdAt ?? 0) - start;
  const period = span + span / Math.max(1, sorted.length);
  const passes = Array.from({ length: PASSES }, (_, pass) =>
    sorted.map((pod) => ({
      ...pod,
      name: `${pod.name}/${pass}`,
      createdAt: pod.createdAt - start + pass * period,
    })),
  ).flat();
  const scaled = (factor: number): TracePod[] =>
    passes.map((pod) => ({ ...pod, createdAt: pod.createdAt * factor }));
  let low = 1e-9;
  let high = 1;
  for (let step = 0; step < 50; step++) {
    const mid = Math.sqrt(low * high);
    if (offeredLoad(scaled(mid), capacityMilli) > load) low = mid;
    else high = mid;
  }
  return scaled(high);
}

interface Departure {
  at: number;
  key: string;
  gpuMilli: number;
}

function insertDeparture(departures: Departure[], entry: Departure): void {
  let low = 0;
  let high = departures.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((departures[mid]?.at ?? 0) <= entry.at) low = mid + 1;
    else high = mid;
  }
  departures.splice(low, 0, entry);
}

/** An event simulation of `arrivals` (sorted by `createdAt`) under `policy`. */
export function loadReplay(
  policy: Policy,
  nodes: readonly TraceNode[],
  arrivals: readonly TracePod[],
): LoadResult {
  let now = 0;
  const scheduler = new Scheduler<TracePod>({ policy, clock: { now: () => now * 1000 } });
  for (const node of nodes) scheduler.inventory.upsertNode(schedulerNode(node));
  const capacity = gpuCapacityMilli(nodes);
  const span = Math.max(1, (arrivals[arrivals.length - 1]?.createdAt ?? 0) - (arrivals[0]?.createdAt ?? 0));
  const horizon = 2 * span;
  const measureFrom = span / PASSES;
  const departures: Departure[] = [];
  const waits: number[] = [];
  let next = 0;
  let allocated = 0;
  let area = 0;
  let last = 0;
  const advance = (to: number): void => {
    // Utilisation counts the last pass's arrivals only: before, the cluster fills; after, it drains.
    const from = Math.max(last, measureFrom);
    const until = Math.min(to, span);
    if (until > from) area += allocated * (until - from);
    last = Math.max(last, to);
    now = to;
  };
  for (;;) {
    const at = Math.min(
      arrivals[next]?.createdAt ?? Number.POSITIVE_INFINITY,
      departures[0]?.at ?? Number.POSITIVE_INFINITY,
    );
    if (!Number.isFinite(at) || at > horizon) break;
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
        demand: podDemand(pod),
        // A user's timeout bounds the run; the recorded duration is the tightest such bound.
        maxRunMs: pod.holdSeconds * 1000,
        enqueuedAt: pod.createdAt * 1000,
        payload: pod,
      });
    }
    for (const { job } of scheduler.schedule()) {
      const pod = job.payload;
      waits.push(at - pod.createdAt);
      allocated += podGpuMilli(pod);
      insertDeparture(departures, { at: at + pod.holdSeconds, key: job.id, gpuMilli: podGpuMilli(pod) });
    }
    if (next >= arrivals.length && scheduler.queue.size === 0) break;
  }
  advance(Math.max(now, span));
  waits.sort((a, b) => a - b);
  return {
    offeredLoad: offeredLoad(arrivals, capacity),
    utilisation: area / (span - measureFrom) / capacity,
    started: waits.length,
    meanWaitSeconds: waits.reduce((sum, wait) => sum + wait, 0) / Math.max(1, waits.length),
    p95WaitSeconds: waits[Math.min(waits.length - 1, Math.floor(waits.length * 0.95))] ?? 0,
    neverStarted: arrivals.length - waits.length,
  };
}
