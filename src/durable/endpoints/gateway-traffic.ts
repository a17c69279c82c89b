import type { AccessFacts } from "./endpoint-access.js";
import type { ReplicaTarget } from "./endpoint-forward.js";
import type { EndpointMeter } from "./endpoint-metrics.js";

/** The gateway's short-lived copy of an endpoint: who may call it, and where a ready replica is. */
export type EndpointRoute = AccessFacts & { ready: ReplicaTarget[] };

/** A request the gateway served without the endpoint's object, as it reports it afterwards. */
export interface ServedRequest {
  ok: boolean;
  latencyMs: number;
  ttfbMs: number | null;
  promptTokens: number;
  completionTokens: number;
}

/**
 * What one Worker isolate tells an endpoint's object about the requests it routed from its copy
 * of the endpoint (src/worker/gateway/endpoint-copy.ts), batched: requests that reached a replica
 * (with how long each waited for it) and requests that ended. An empty report is a heartbeat: the
 * isolate still has requests in flight.
 */
export interface TrafficReport {
  reporter: string;
  arrivals: number[];
  finishes: ServedRequest[];
  /** The isolate's requests in flight for this endpoint after these. */
  inFlight: number;
}

/** A reporter silent this long with requests outstanding is gone (its isolate was evicted). */
export const REPORTER_SILENT_MS = 60_000;

/**
 * The gateway's requests in an endpoint's meter: arrivals and ends count as the object's own
 * requests do (concurrency and queue delay for the autoscaler, idleness for scale to zero,
 * requests, errors, latencies and tokens for /metrics). Each reporter's outstanding requests are
 * tracked, so a lost report is corrected by the next and an isolate that goes away mid-request
 * does not hold the endpoint busy forever.
 */
export class GatewayTraffic {
  private readonly reporters = new Map<string, { outstanding: number; seenAt: number }>();

  absorb(meter: EndpointMeter, report: TrafficReport, now: number): void {
    const reporter = this.reporters.get(report.reporter) ?? { outstanding: 0, seenAt: now };
    reporter.seenAt = now;
    for (const queuedMs of report.arrivals) {
      meter.arrived(now);
      meter.queued(now, queuedMs);
      reporter.outstanding += 1;
    }
    for (const served of report.finishes) {
      if (served.promptTokens > 0 || served.completionTokens > 0)
        meter.tokens(served.promptTokens, served.completionTokens);
      meter.finished({ ok: served.ok, latencyMs: served.latencyMs, ttfbMs: served.ttfbMs, coldStart: false });
      reporter.outstanding = Math.max(0, reporter.outstanding - 1);
    }
    // A lost report leaves the count off by its requests: the isolate's own count corrects it.
    if (report.inFlight < reporter.outstanding) meter.release(reporter.outstanding - report.inFlight);
    reporter.outstanding = Math.min(reporter.outstanding, Math.max(0, report.inFlight));
    if (reporter.outstanding === 0) this.reporters.delete(report.reporter);
    else this.reporters.set(report.reporter, reporter);
  }

  /** Forgets the outstanding requests of reporters silent past REPORTER_SILENT_MS. */
  expire(meter: EndpointMeter, now: number): void {
    for (const [id, reporter] of this.reporters) {
      if (now - reporter.seenAt < REPORTER_SILENT_MS) continue;
      meter.release(reporter.outstanding);
      this.reporters.delete(id);
    }
  }
}
