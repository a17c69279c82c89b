import type { ServedRequest, TrafficReport } from "../../durable/endpoints/gateway-traffic.js";
import type { Background } from "./short-copy.js";

/** While a stream lasts, the isolate tells the endpoint at least this often that it is still here. */
const HEARTBEAT_MS = 10_000;
/** Reports one flush sends back to back before handing on (bounds one request's waitUntil). */
const MAX_ROUNDS = 8;

interface Pending {
  arrivals: number[];
  finishes: ServedRequest[];
  inFlight: number;
  sending: boolean;
  sentAt: number;
}

let reporterId: string | undefined;
const pending = new Map<string, Pending>();

function pendingOf(endpointId: string): Pending {
  let p = pending.get(endpointId);
  if (!p) {
    p = { arrivals: [], finishes: [], inFlight: 0, sending: false, sentAt: 0 };
    pending.set(endpointId, p);
  }
  return p;
}

/**
 * Tells endpoints' objects, after the fact, about the requests this isolate routed from its copy
 * (gateway-copies.ts), so their autoscaler, scale to zero and /metrics see every request. One
 * report per endpoint is in flight at a time; what happens meanwhile goes in the next one, so a
 * burst costs a few calls, not one per request. Each report carries the isolate's requests in
 * flight for the endpoint, which corrects the object's count if a report was lost.
 */
export class TrafficReporter {
  constructor(
    private readonly env: Env,
    private readonly background: Background,
    private readonly endpointId: string,
  ) {}

  /** A request reached a replica after waiting `queuedMs` for one. */
  arrived(queuedMs: number): void {
    const p = pendingOf(this.endpointId);
    p.arrivals.push(queuedMs);
    p.inFlight += 1;
    this.flush(p);
  }

  finished(served: ServedRequest): void {
    const p = pendingOf(this.endpointId);
    p.finishes.push(served);
    p.inFlight = Math.max(0, p.inFlight - 1);
    this.flush(p);
  }

  /** A long stream is still going: a heartbeat when the endpoint has not heard from us lately. */
  alive(): void {
    const p = pendingOf(this.endpointId);
    if (Date.now() - p.sentAt >= HEARTBEAT_MS) this.flush(p, true);
  }

  private flush(p: Pending, heartbeat = false): void {
    if (p.sending) return;
    p.sending = true;
    reporterId ??= crypto.randomUUID();
    const reporter = reporterId;
    const stub = this.env.ENDPOINT.get(this.env.ENDPOINT.idFromName(this.endpointId));
    const send = async (): Promise<void> => {
      let beat = heartbeat;
      for (let round = 0; round < MAX_ROUNDS; round++) {
        if (!beat && p.arrivals.length === 0 && p.finishes.length === 0) break;
        beat = false;
        const report: TrafficReport = {
          reporter,
          arrivals: p.arrivals.splice(0),
          finishes: p.finishes.splice(0),
          inFlight: p.inFlight,
        };
        p.sentAt = Date.now();
        try {
          await stub.traffic(report);
        } catch (error) {
          // Metrics only (replica-seconds are billed by the object itself): logged, not retried forever.
          console.error(`traffic report to ${this.endpointId} failed`, error);
        }
      }
    };
    this.background(
      send().finally(() => {
        p.sending = false;
        if (p.inFlight === 0 && p.arrivals.length === 0 && p.finishes.length === 0)
          pending.delete(this.endpointId);
        else if (p.arrivals.length > 0 || p.finishes.length > 0) this.flush(p);
      }),
    );
  }
}
