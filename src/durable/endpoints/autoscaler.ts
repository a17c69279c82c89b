import type { EndpointScaling } from "../../shared/endpoints/endpoint-spec.js";

/** One second of an endpoint's traffic: the most requests in flight or waiting, and the longest wait. */
export interface LoadSample {
  /** The second (ms since the epoch, floored to a second). */
  at: number;
  /** The most requests in flight or waiting for a replica during that second. */
  concurrency: number;
  /** The longest a request that started during that second waited for a replica (ms). */
  queueDelayMs: number;
  /** Requests that arrived during that second. */
  arrivals: number;
}

export interface ScaleInput {
  now: number;
  /** Replicas placed and not draining (ready or on their way). */
  current: number;
  min: number;
  max: number;
  scaling: EndpointScaling;
  /** Per-second samples, oldest first; seconds with no traffic may be missing. */
  samples: readonly LoadSample[];
  /** When the last request arrived (ms), or null when none ever did. */
  lastRequestAt: number | null;
  /** Requests waiting now for a replica (a cold start). */
  waiting: number;
  /** When the replica count last changed by a decision (ms). */
  lastChangeAt: number;
}

export interface ScaleDecision {
  desired: number;
  /** Why, in words a user reads in the endpoint's events; "" when nothing changes. */
  reason: string;
}

/** The share of seconds in a window that must be loaded for it to count: one blip is never enough. */
const SUSTAINED_SHARE = 0.5;
/** Scale-down looks at this quantile of the window, so a lone busy second does not hold replicas up. */
const DOWN_QUANTILE = 0.9;

/** The per-second concurrency over a window (missing seconds are idle ones), sorted ascending. */
function windowLoads(samples: readonly LoadSample[], now: number, seconds: number): number[] {
  const from = Math.floor(now / 1000) * 1000 - (seconds - 1) * 1000;
  const loads = new Array<number>(seconds).fill(0);
  for (const s of samples) {
    if (s.at < from || s.at > now) continue;
    const i = Math.floor((s.at - from) / 1000);
    if (i >= 0 && i < seconds) loads[i] = Math.max(loads[i] ?? 0, s.concurrency);
  }
  return loads.sort((a, b) => a - b);
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

/**
 * Desired replicas from concurrency per replica and queue delay over sliding windows:
 * - a request waiting at zero replicas starts one at once (a cold start);
 * - up: the load that held for most of the up window (its median second), over the target per
 *   replica, or requests queueing longer than `queueDelaySeconds` for most of it — so a single
 *   busy second neither scales up nor counts as a reason to stay up;
 * - down: only after the down window passed since the last change, to what its 90th-percentile
 *   second needs — one blip within it does not restart the cool-down;
 * - to zero (when min is 0) after `idleSecondsToZero` with no request.
 */
export function decideScale(input: ScaleInput): ScaleDecision {
  const { now, current, min, max, scaling } = input;
  const clamp = (n: number): number => Math.max(min, Math.min(max, n));
  if (current < min) return { desired: min, reason: `below the minimum of ${min} replica(s)` };
  if (current > max) return { desired: max, reason: `above the maximum of ${max} replica(s)` };
  if (current === 0 && input.waiting > 0)
    return { desired: clamp(1), reason: `cold start: ${input.waiting} request(s) waiting with no replica` };

  const up = windowLoads(input.samples, now, scaling.scaleUpWindowSeconds);
  const sustained = quantile(up, 1 - SUSTAINED_SHARE);
  const needUp = Math.ceil(sustained / scaling.targetConcurrency);
  const from = now - scaling.scaleUpWindowSeconds * 1000;
  const recent = input.samples.filter((s) => s.at >= from && s.arrivals > 0);
  const queued = recent.filter((s) => s.queueDelayMs > scaling.queueDelaySeconds * 1000).length;
  const queueing = recent.length > 0 && queued / scaling.scaleUpWindowSeconds >= SUSTAINED_SHARE;
  if (needUp > current && clamp(needUp) > current)
    return {
      desired: clamp(needUp),
      reason: `load ${sustained} concurrent for ${scaling.scaleUpWindowSeconds}s over target ${scaling.targetConcurrency} per replica`,
    };
  if (queueing && current > 0 && clamp(current + 1) > current)
    return {
      desired: clamp(current + 1),
      reason: `requests queued over ${scaling.queueDelaySeconds}s for ${scaling.scaleUpWindowSeconds}s`,
    };

  const idleFor = input.lastRequestAt === null ? Number.POSITIVE_INFINITY : now - input.lastRequestAt;
  if (min === 0 && current > 0 && input.waiting === 0 && idleFor >= scaling.idleSecondsToZero * 1000)
    return { desired: 0, reason: `idle for ${scaling.idleSecondsToZero}s: scaling to zero` };

  if (now - input.lastChangeAt < scaling.scaleDownWindowSeconds * 1000)
    return { desired: current, reason: "" };
  const down = windowLoads(input.samples, now, scaling.scaleDownWindowSeconds);
  const needDown = Math.max(1, Math.ceil(quantile(down, DOWN_QUANTILE) / scaling.targetConcurrency));
  if (clamp(needDown) < current)
    return {
      desired: clamp(needDown),
      reason: `load stayed under ${needDown * scaling.targetConcurrency} concurrent for ${scaling.scaleDownWindowSeconds}s`,
    };
  return { desired: current, reason: "" };
}
