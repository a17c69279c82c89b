import type { EndpointMetrics } from "../../shared/endpoints/endpoint-views.js";
import type { LoadSample } from "./autoscaler.js";

/** Latencies kept for percentiles: the most recent ones, a bounded reservoir. */
const RESERVOIR = 1000;
/** Load samples kept: enough for the longest scale-down window. */
const SAMPLE_SECONDS = 3600;

export interface StoredMetrics {
  requests: number;
  errors: number;
  coldStarts: number;
  replicaMs: number;
  promptTokens: number;
  completionTokens: number;
  latencies: number[];
  ttfbs: number[];
}

function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}

function pushBounded(list: number[], value: number): void {
  list.push(value);
  if (list.length > RESERVOIR) list.splice(0, list.length - RESERVOIR);
}

/** An endpoint's counters, latency reservoirs and per-second load, as its object keeps them. */
export class EndpointMeter {
  inFlight = 0;
  waiting = 0;
  lastRequestAt: number | null = null;
  private readonly samples: LoadSample[] = [];

  constructor(private readonly stored: StoredMetrics) {}

  static empty(): StoredMetrics {
    return {
      requests: 0,
      errors: 0,
      coldStarts: 0,
      replicaMs: 0,
      promptTokens: 0,
      completionTokens: 0,
      latencies: [],
      ttfbs: [],
    };
  }

  get data(): StoredMetrics {
    return this.stored;
  }

  loadSamples(): readonly LoadSample[] {
    return this.samples;
  }

  private sample(now: number): LoadSample {
    const at = Math.floor(now / 1000) * 1000;
    const last = this.samples.at(-1);
    if (last && last.at === at) return last;
    const fresh = { at, concurrency: 0, queueDelayMs: 0, arrivals: 0 };
    this.samples.push(fresh);
    if (this.samples.length > SAMPLE_SECONDS) this.samples.splice(0, this.samples.length - SAMPLE_SECONDS);
    return fresh;
  }

  /** A request arrived; it counts towards concurrency until `finished`. */
  arrived(now: number): void {
    this.lastRequestAt = now;
    this.inFlight += 1;
    const s = this.sample(now);
    s.arrivals += 1;
    s.concurrency = Math.max(s.concurrency, this.inFlight);
  }

  /** The request got a replica (or gave up) after waiting `delayMs`. */
  queued(now: number, delayMs: number): void {
    const s = this.sample(now);
    s.queueDelayMs = Math.max(s.queueDelayMs, delayMs);
  }

  /** Keeps a second's concurrency current while requests stay in flight with no new arrivals. */
  tick(now: number): void {
    const s = this.sample(now);
    s.concurrency = Math.max(s.concurrency, this.inFlight);
  }

  finished(outcome: { ok: boolean; latencyMs: number; ttfbMs: number | null; coldStart: boolean }): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    // Idleness counts from the last request's end, not its arrival.
    this.lastRequestAt = Math.max(this.lastRequestAt ?? 0, Date.now());
    this.stored.requests += 1;
    if (!outcome.ok) this.stored.errors += 1;
    if (outcome.coldStart) this.stored.coldStarts += 1;
    pushBounded(this.stored.latencies, outcome.latencyMs);
    if (outcome.ttfbMs !== null) pushBounded(this.stored.ttfbs, outcome.ttfbMs);
  }

  /** Requests that will never be reported finished (their gateway isolate went away). */
  release(count: number): void {
    this.inFlight = Math.max(0, this.inFlight - count);
  }

  tokens(prompt: number, completion: number): void {
    this.stored.promptTokens += prompt;
    this.stored.completionTokens += completion;
  }

  replicaTime(ms: number): void {
    this.stored.replicaMs += ms;
  }

  view(): EndpointMetrics {
    return {
      requests: this.stored.requests,
      errors: this.stored.errors,
      inFlight: this.inFlight,
      latencyMs: {
        p50: percentile(this.stored.latencies, 0.5),
        p99: percentile(this.stored.latencies, 0.99),
      },
      timeToFirstByteMs: {
        p50: percentile(this.stored.ttfbs, 0.5),
        p99: percentile(this.stored.ttfbs, 0.99),
      },
      coldStarts: this.stored.coldStarts,
      replicaSeconds: Math.round(this.stored.replicaMs / 100) / 10,
      tokens: { prompt: this.stored.promptTokens, completion: this.stored.completionTokens },
    };
  }
}

/** Token usage from an OpenAI-shaped response's tail (a JSON body, or the SSE event carrying usage). */
export function usageOf(tail: string): { prompt: number; completion: number } | undefined {
  const at = tail.lastIndexOf('"usage"');
  if (at < 0) return undefined;
  const prompt = /"prompt_tokens"\s*:\s*(\d+)/.exec(tail.slice(at));
  const completion = /"completion_tokens"\s*:\s*(\d+)/.exec(tail.slice(at));
  if (!prompt) return undefined;
  return { prompt: Number(prompt[1]), completion: completion ? Number(completion[1]) : 0 };
}
