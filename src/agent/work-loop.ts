import type { z } from "zod";
import type { Assignment, RegisterRequest, RegisterResponse, StopOrder } from "../shared/agent-protocol.js";
import type { AgentLog } from "./agent-log.js";
import { errorMessage } from "./agent-log.js";
import { AttemptRunner } from "./attempt-runner.js";
import type { Clock } from "./clock.js";
import type { ContainerRuntime } from "./container-runtime.js";
import { type ControlPlaneClient, ControlPlaneError } from "./control-plane-client.js";

export interface WorkLoopOptions {
  client: ControlPlaneClient;
  runtime: ContainerRuntime;
  clock: Clock;
  log: AgentLog;
  registration: z.input<typeof RegisterRequest>;
  /** Called after every successful registration (the agent saves the node id). */
  onRegistered?: (response: RegisterResponse) => Promise<void>;
  /** How often to look again for a Docker engine that did not answer. */
  dockerRetryMs?: number;
}

/**
 * The agent's life: wait for Docker, register, then long-poll for work. The poll is also the
 * heartbeat that renews the leases of the attempts it lists, so it keeps going while attempts run.
 */
export class WorkLoop {
  readonly registered: Promise<RegisterResponse>;
  private resolveRegistered: (response: RegisterResponse) => void = () => {};
  private rejectRegistered: (error: Error) => void = () => {};
  private readonly attempts = new Map<string, AttemptRunner>();
  private readonly stopping = new AbortController();
  private registration: RegisterResponse | undefined;
  private failures = 0;

  constructor(private readonly options: WorkLoopOptions) {
    this.registered = new Promise<RegisterResponse>((resolve, reject) => {
      this.resolveRegistered = resolve;
      this.rejectRegistered = reject;
    });
    // Callers that never ask for the registration must not see an unhandled rejection on stop.
    this.registered.catch(() => {});
  }

  /** Attempts currently held by this node (running, stopping or reporting). */
  get running(): ReadonlyMap<string, AttemptRunner> {
    return this.attempts;
  }

  /** Asks the loop to drain: no new work, running containers stopped and reported, then `run` returns. */
  stop(): void {
    this.stopping.abort();
  }

  async run(): Promise<void> {
    try {
      if (await this.waitForDocker()) {
        await this.serve();
      }
    } finally {
      await this.drain();
      this.rejectRegistered(new Error("the agent stopped before it registered"));
    }
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async waitForDocker(): Promise<boolean> {
    const { runtime, log, clock } = this.options;
    const retryMs = this.options.dockerRetryMs ?? 10_000;
    let tries = 0;
    while (!this.stopped) {
      if (await runtime.ping()) {
        if (tries > 0) log.info("the Docker engine answers now; carrying on");
        return true;
      }
      if (tries % 30 === 0) {
        log.warn(
          `no Docker engine answers at ${runtime.location}. ` +
            "Jobs run in containers, so the agent waits for one. Start it (sudo systemctl start docker, " +
            `or run dockerd), or set DOCKER_HOST to an engine that runs. Checking again every ${formatDelay(retryMs)}.`,
        );
      }
      tries++;
      await clock.sleep(retryMs, this.stopping.signal);
    }
    return false;
  }

  private async register(): Promise<RegisterResponse | undefined> {
    const { client, log, clock } = this.options;
    while (!this.stopped) {
      try {
        const response = await client.register(this.options.registration, { signal: this.stopping.signal });
        client.setNode(response.nodeId, response.region);
        await this.options.onRegistered?.(response);
        this.registration = response;
        return response;
      } catch (error) {
        if (this.stopped) return undefined;
        log.warn(`registration failed: ${errorMessage(error)}; trying again`);
        await clock.sleep(this.backoffMs(), this.stopping.signal);
      }
    }
    return undefined;
  }

  private async serve(): Promise<void> {
    const { client, runtime, log, clock } = this.options;
    const first = await this.register();
    if (first === undefined) return;
    const removed = await runtime.removeLeftovers(first.nodeId).catch((error: unknown) => {
      log.warn(`could not clean up containers of an earlier run: ${errorMessage(error)}`);
      return 0;
    });
    if (removed > 0) log.info(`removed ${removed} container(s) left by an earlier run of this node`);
    this.resolveRegistered(first);

    while (!this.stopped) {
      const registration = this.registration ?? first;
      let response: Awaited<ReturnType<ControlPlaneClient["poll"]>>;
      try {
        response = await client.poll(
          {
            running: [...this.attempts.values()].map(({ attemptId, fencing }) => ({ attemptId, fencing })),
            acceptingWork: true,
          },
          // A held poll that outlives the server's wait by this much is a dead connection.
          { signal: this.stopping.signal, timeoutMs: registration.pollWaitMs + 15_000 },
        );
        this.failures = 0;
      } catch (error) {
        if (this.stopped) break;
        if (error instanceof ControlPlaneError && (error.status === 404 || error.status === 401)) {
          log.warn(`the control plane does not know this node (${error.code}); registering again`);
          // Back off when re-registering did not help last time, rather than spin against the server.
          const delay = this.backoffMs();
          if (this.failures > 1) await clock.sleep(delay, this.stopping.signal);
          await this.register();
          continue;
        }
        log.warn(`poll failed: ${errorMessage(error)}`);
        await clock.sleep(this.backoffMs(), this.stopping.signal);
        continue;
      }
      for (const order of response.stop) this.applyStop(order);
      for (const assignment of response.assignments) this.accept(assignment, registration.nodeId);
      if (response.nextPollDelayMs > 0) await clock.sleep(response.nextPollDelayMs, this.stopping.signal);
    }
  }

  private accept(assignment: Assignment, nodeId: string): void {
    const { runtime, client, clock, log } = this.options;
    // A repeated assignment (the answer to a poll that was retried) is the same attempt: run it once.
    if (this.attempts.has(assignment.attemptId)) return;
    log.info(`job ${assignment.jobId}: attempt ${assignment.attemptId} assigned (${assignment.image})`);
    const runner = new AttemptRunner(assignment, {
      nodeId,
      runtime,
      clock,
      log,
      report: (attemptId, body) =>
        client.report(attemptId, body, { retries: body.type === "exited" ? 8 : 4 }),
    });
    this.attempts.set(assignment.attemptId, runner);
    void runner.done.then(() => {
      this.attempts.delete(assignment.attemptId);
      log.info(`job ${assignment.jobId}: attempt ${assignment.attemptId} ${runner.phase}`);
    });
  }

  private applyStop(order: StopOrder): void {
    const runner = this.attempts.get(order.attemptId);
    if (runner === undefined) return;
    if (order.reason === "cancelled") runner.requestStop("cancelled", "cancelled by its owner");
    else runner.abandon(order.reason);
  }

  private async drain(): Promise<void> {
    if (this.attempts.size > 0) {
      this.options.log.info(`shutting down: stopping ${this.attempts.size} running attempt(s)`);
      for (const runner of this.attempts.values()) runner.requestStop("error", "agent shut down");
      await Promise.all([...this.attempts.values()].map((runner) => runner.done));
    }
    await this.announceDrain();
  }

  /**
   * One last, unheld poll that says the node takes no more work, so the control plane places
   * again at once any assignment that the cancelled poll may have carried, instead of waiting for
   * its lease to lapse. Best effort: the lease expiry still covers a node that cannot say it.
   */
  private async announceDrain(): Promise<void> {
    if (this.registration === undefined) return;
    try {
      await this.options.client.poll(
        { running: [], acceptingWork: false, waitMs: 0 },
        { timeoutMs: 3_000, retries: 0 },
      );
    } catch (error) {
      this.options.log.warn(`could not tell the control plane this node is draining: ${errorMessage(error)}`);
    }
  }

  private backoffMs(): number {
    this.failures++;
    return Math.min(30_000, 1_000 * 2 ** Math.min(this.failures - 1, 5));
  }
}

function formatDelay(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}
