import type { z } from "zod";
import type { NodeMetrics, RegisterRequest, RegisterResponse } from "../shared/agent-protocol.js";
import { AGENT_RETRY_CAP_MS } from "../shared/agent-retry.js";
import type { VerificationChallenge } from "../shared/verification/messages.js";
import { errorMessage } from "./agent-log.js";
import type { AttemptRunner } from "./attempt-runner.js";
import { type ControlPlaneClient, ControlPlaneError } from "./control-plane-client.js";
import { NodeAttempts, type NodeAttemptsOptions } from "./node-attempts.js";

/** What rides along with a poll besides the leases: a metrics summary when it changed, the RTT. */
export interface PollExtras {
  /** The summary to send now, if any; `sent` is called once a poll carrying it was answered. */
  pending(): { metrics: NodeMetrics; sent(): void } | undefined;
  readonly rttMs: number | undefined;
}

export interface WorkLoopOptions extends NodeAttemptsOptions {
  /** Built afresh for each registration, so a changed share, price or label is what is sent. */
  registration: () => Promise<z.input<typeof RegisterRequest>>;
  /** Whether the host takes new work now (its operating windows); default always. */
  acceptingWork?: () => boolean;
  extras?: PollExtras;
  /** Proof-of-GPU challenges from poll answers go here. */
  onChallenge?: (challenge: VerificationChallenge) => void;
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
  private readonly stopping = new AbortController();
  private readonly attempts: NodeAttempts;
  private registration: RegisterResponse | undefined;
  private failures = 0;
  private reregisterWanted = false;
  private lastAccepting: boolean | undefined;

  constructor(private readonly options: WorkLoopOptions) {
    this.attempts = new NodeAttempts(options, () => this.acceptingNow(), this.stopping.signal);
    this.registered = new Promise<RegisterResponse>((resolve, reject) => {
      this.resolveRegistered = resolve;
      this.rejectRegistered = reject;
    });
    // Callers that never ask for the registration must not see an unhandled rejection on stop.
    this.registered.catch(() => {});
  }

  /** Attempts currently held by this node (running, stopping or reporting). */
  get running(): ReadonlyMap<string, AttemptRunner> {
    return this.attempts.running;
  }

  /**
   * Registers again before the next poll (the shared hardware, price or labels changed). A poll
   * already held is let finish rather than cut, so no assignment it carries is lost.
   */
  requestReregistration(): void {
    this.reregisterWanted = true;
  }

  /** The node id of the current registration. */
  get nodeId(): string | undefined {
    return this.registration?.nodeId;
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
        const body = await this.options.registration();
        const response = await client.register(body, { signal: this.stopping.signal });
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
    const { client, log, clock } = this.options;
    const first = await this.register();
    if (first === undefined) return;
    // Before the first poll, so the attempts taken up are listed in it and keep their leases.
    await this.attempts.reclaim(first.nodeId);
    this.resolveRegistered(first);

    while (!this.stopped) {
      if (this.reregisterWanted) {
        this.reregisterWanted = false;
        log.info("the shared hardware, price or labels changed; registering again");
        await this.register();
        continue;
      }
      const registration = this.registration ?? first;
      // Both asked every time: each logs its own changes.
      const engineUp = await this.attempts.engineAnswers(registration.nodeId);
      const accepting = this.acceptingNow() && engineUp;
      const extras = this.options.extras;
      const pending = extras?.pending();
      const rttMs = extras?.rttMs;
      let response: Awaited<ReturnType<ControlPlaneClient["poll"]>>;
      try {
        response = await client.poll(
          {
            running: this.attempts.leases(),
            acceptingWork: accepting,
            ...(pending ? { metrics: pending.metrics } : {}),
            ...(rttMs !== undefined ? { rttMs } : {}),
          },
          // A held poll that outlives the server's wait by this much is a dead connection.
          { signal: this.stopping.signal, timeoutMs: registration.pollWaitMs + 15_000 },
        );
        this.failures = 0;
        pending?.sent();
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
      for (const order of response.stop) this.attempts.applyStop(order);
      // Awaited (a ping at most), so the next poll already lists every attempt this one handed over.
      for (const assignment of response.assignments)
        await this.attempts.accept(assignment, registration.nodeId);
      for (const challenge of response.challenges) this.options.onChallenge?.(challenge);
      if (response.nextPollDelayMs > 0) await clock.sleep(response.nextPollDelayMs, this.stopping.signal);
    }
  }

  /** The operating windows' answer, logged when it flips so the provider sees the node drain. */
  private acceptingNow(): boolean {
    const accepting = this.options.acceptingWork?.() ?? true;
    if (this.lastAccepting !== undefined && accepting !== this.lastAccepting) {
      this.options.log.info(
        accepting
          ? "inside an operating window: taking work again"
          : "outside the operating windows: draining (running work finishes, no new work)",
      );
    }
    this.lastAccepting = accepting;
    return accepting;
  }

  private async drain(): Promise<void> {
    // Said first, so the jobs its attempts give back are not placed on this node again meanwhile.
    await this.announceDrain();
    await this.attempts.stopAll();
  }

  /**
   * An unheld poll that says the node takes no more work: the control plane places again at once
   * any assignment the cancelled poll may have carried, instead of waiting for its lease to lapse,
   * and places nothing new here. The attempts still running are listed, so they keep their leases
   * until their exits are reported. Best effort: the lease expiry covers a node that cannot say it.
   */
  private async announceDrain(): Promise<void> {
    if (this.registration === undefined) return;
    try {
      await this.options.client.poll(
        {
          running: this.attempts.leases(),
          acceptingWork: false,
          waitMs: 0,
        },
        { timeoutMs: 3_000, retries: 0 },
      );
    } catch (error) {
      this.options.log.warn(`could not tell the control plane this node is draining: ${errorMessage(error)}`);
    }
  }

  private backoffMs(): number {
    this.failures++;
    return Math.min(AGENT_RETRY_CAP_MS, 1_000 * 2 ** Math.min(this.failures - 1, 5));
  }
}

function formatDelay(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}
