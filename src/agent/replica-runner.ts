import type { ReplicaService } from "../shared/endpoints/replica-service.js";
import type { ReplicaFrame } from "../shared/endpoints/tunnel-protocol.js";
import type { AgentLog } from "./agent-log.js";
import type { ServiceHooks } from "./attempt-runner.js";
import type { Clock } from "./clock.js";
import type { RunningContainer } from "./container-runtime.js";
import { httpProbe, type ProbeResult } from "./replica-probe.js";
import type { StreamTarget } from "./tunnel/tunnel-stream.js";

export type ReplicaState = ReplicaFrame["state"];

export interface ReplicaRunnerDeps {
  clock: Clock;
  log: AgentLog;
  /** Where the agent reaches the container (its address on the attempt's network). */
  address(containerId: string): Promise<string | undefined>;
  /** A readiness change, for the region (through the tunnel). */
  report(frame: ReplicaFrame): void;
  probe?: (host: string, port: number, path: string, timeoutMs: number) => Promise<ProbeResult>;
  /** How long a stop waits for requests in flight to finish (default 30 s). */
  drainGraceMs?: number;
}

/**
 * The endpoint side of one replica's attempt (the AttemptRunner runs its container and reports
 * its life as for any attempt): readiness probes once the container runs, the `replica` frames
 * that say when it may take traffic, the count of streams in flight, and the drain before a stop.
 *
 * starting → ready after the first passing probe; ready → unready after `failureThreshold`
 * failures in a row, and back on a pass; failed when the container ended (the detail says how).
 */
export class ReplicaRunner implements ServiceHooks {
  private stateNow: ReplicaState = "starting";
  private detailNow = "starting the container";
  private at: number;
  private host: string | undefined;
  private inFlight = 0;
  private failures = 0;
  private draining = false;
  private over = false;
  private cancelProbe: () => void = () => {};
  private idle: (() => void)[] = [];

  constructor(
    readonly attemptId: string,
    readonly fencing: number,
    private readonly service: ReplicaService,
    private readonly deps: ReplicaRunnerDeps,
  ) {
    this.at = deps.clock.now();
    deps.report(this.frame());
  }

  get state(): ReplicaState {
    return this.stateNow;
  }

  get streamsInFlight(): number {
    return this.inFlight;
  }

  /** The replica's state as a frame (sent on changes, and again after the socket reopens). */
  frame(): ReplicaFrame {
    return {
      t: "replica",
      attemptId: this.attemptId,
      fencing: this.fencing,
      state: this.stateNow,
      detail: this.detailNow,
      at: this.at,
    };
  }

  running(container: RunningContainer): void {
    void this.locate(container);
  }

  /**
   * Where a new stream goes, counted in flight until released; undefined when the replica takes
   * no stream (not started, draining, ended): the region then tries another before any byte went.
   */
  open(): { target: StreamTarget; release(): void } | undefined {
    if (this.host === undefined || this.draining || this.over) return undefined;
    this.inFlight++;
    let released = false;
    return {
      target: { host: this.host, port: this.service.port },
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
        if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
      },
    };
  }

  /** Before the container stops: no new streams, and those in flight get a bounded time to finish. */
  async drain(): Promise<void> {
    if (this.draining || this.over) return;
    this.draining = true;
    this.cancelProbe();
    this.set("unready", "draining: the replica is stopping");
    if (this.inFlight === 0) return;
    this.deps.log.info(`replica ${this.attemptId}: draining ${this.inFlight} request(s) before it stops`);
    await new Promise<void>((resolve) => {
      const cancel = this.deps.clock.setTimer(resolve, this.deps.drainGraceMs ?? 30_000);
      this.idle.push(() => {
        cancel();
        resolve();
      });
    });
  }

  /** The attempt is over (its container exited, never started, or was stopped). */
  ended(detail: string): void {
    if (this.over) return;
    this.over = true;
    this.cancelProbe();
    this.set("failed", detail);
    for (const wake of this.idle.splice(0)) wake();
  }

  private async locate(container: RunningContainer): Promise<void> {
    let host: string | undefined;
    try {
      host = await this.deps.address(container.id);
    } catch {
      host = undefined;
    }
    if (this.over || this.draining) return;
    if (host === undefined) {
      this.set("starting", "the container has no address on its network yet");
      this.schedule(1000, container);
      return;
    }
    this.host = host;
    this.set("starting", `waiting for probe GET ${this.service.readiness.path}`);
    this.schedule(this.service.readiness.initialDelaySeconds * 1000);
  }

  private schedule(ms: number, relocate?: RunningContainer): void {
    if (this.over || this.draining) return;
    this.cancelProbe = this.deps.clock.setTimer(() => {
      if (relocate) void this.locate(relocate);
      else void this.probeOnce();
    }, ms);
  }

  private async probeOnce(): Promise<void> {
    const { readiness, port } = this.service;
    const host = this.host;
    if (host === undefined || this.over || this.draining) return;
    const probe = this.deps.probe ?? httpProbe;
    const result = await probe(host, port, readiness.path, readiness.timeoutSeconds * 1000);
    if (this.over || this.draining) return;
    if (result.ok) {
      this.failures = 0;
      this.set("ready", `probe GET ${readiness.path} → ${result.status}`);
    } else {
      this.failures++;
      if (this.stateNow === "starting") this.set("starting", result.detail);
      else if (this.stateNow === "unready" || this.failures >= readiness.failureThreshold) {
        this.set("unready", result.detail);
      }
    }
    this.schedule(readiness.periodSeconds * 1000);
  }

  private set(state: ReplicaState, detail: string): void {
    if (state === this.stateNow && detail === this.detailNow) return;
    // A ready replica's passing probes all say the same; only a change of state is news.
    if (state === "ready" && this.stateNow === "ready") return;
    const changed = state !== this.stateNow;
    this.stateNow = state;
    this.detailNow = detail.slice(0, 1024);
    this.at = this.deps.clock.now();
    if (changed) this.deps.log.info(`replica ${this.attemptId}: ${state} (${detail})`);
    this.deps.report(this.frame());
  }
}
