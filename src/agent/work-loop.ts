import type { z } from "zod";
import type {
  Assignment,
  NodeMetrics,
  RegisterRequest,
  RegisterResponse,
  StopOrder,
} from "../shared/agent-protocol.js";
import { AGENT_RETRY_CAP_MS } from "../shared/agent-retry.js";
import type { VerificationChallenge } from "../shared/verification/messages.js";
import type { AgentLog } from "./agent-log.js";
import { errorMessage } from "./agent-log.js";
import { type Adoption, AttemptRunner, type AttemptRunnerDeps } from "./attempt-runner.js";
import type { Clock } from "./clock.js";
import { reclaimContainers } from "./container-reclaim.js";
import type { ContainerRuntime } from "./container-runtime.js";
import { type ControlPlaneClient, ControlPlaneError } from "./control-plane-client.js";
import { EngineHealth } from "./engine-health.js";
import type { ImageDecision } from "./policy/image-policy.js";
import type { ReplicaFactory } from "./replica-hosting.js";
import { UsageReceipt, type UsageSigner } from "./usage-receipt.js";

/** What rides along with a poll besides the leases: a metrics summary when it changed, the RTT. */
export interface PollExtras {
  /** The summary to send now, if any; `sent` is called once a poll carrying it was answered. */
  pending(): { metrics: NodeMetrics; sent(): void } | undefined;
  readonly rttMs: number | undefined;
}

/** How long one report request may take before it is given up (and retried). */
const REPORT_TIMEOUT_MS = 15_000;

export interface WorkLoopOptions {
  client: ControlPlaneClient;
  runtime: ContainerRuntime;
  clock: Clock;
  log: AgentLog;
  /** Built afresh for each registration, so a changed share, price or label is what is sent. */
  registration: () => Promise<z.input<typeof RegisterRequest>>;
  /** Whether the host takes new work now (its operating windows); default always. */
  acceptingWork?: () => boolean;
  /** Whether the host policy lets this image run; default every image. */
  imageDecision?: (image: string) => ImageDecision;
  extras?: PollExtras;
  /** Proof-of-GPU challenges from poll answers go here. */
  onChallenge?: (challenge: VerificationChallenge) => void;
  /** Attempts started or ended (the agent's state file, the jobs gauge). */
  onAttemptsChanged?: () => void;
  /** Called after every successful registration (the agent saves the node id). */
  onRegistered?: (response: RegisterResponse) => Promise<void>;
  /** How often to look again for a Docker engine that did not answer. */
  dockerRetryMs?: number;
  /** The data of attempts that have secrets, inputs, outputs or checkpoints (src/agent/storage). */
  storage?: AttemptRunnerDeps["storage"];
  /** The node's own reason it cannot start an attempt now (a full data folder), checked per attempt. */
  preflight?: AttemptRunnerDeps["preflight"];
  /** Endpoint replicas (assignments with a `service`); without it such assignments are refused. */
  replicas?: ReplicaFactory;
  /** The node key: each attempt's exit report carries its signed usage receipt (usage-receipt.ts). */
  usageSigner?: UsageSigner;
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
  private reregisterWanted = false;
  private lastAccepting: boolean | undefined;
  private readonly engine: EngineHealth;

  constructor(private readonly options: WorkLoopOptions) {
    this.engine = new EngineHealth(options.runtime, options.log);
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
    await this.reclaim(first.nodeId);
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
      const engineUp = await this.engine.answers(() => this.reclaim(registration.nodeId));
      const accepting = this.acceptingNow() && engineUp;
      const extras = this.options.extras;
      const pending = extras?.pending();
      const rttMs = extras?.rttMs;
      let response: Awaited<ReturnType<ControlPlaneClient["poll"]>>;
      try {
        response = await client.poll(
          {
            running: [...this.attempts.values()].map(({ attemptId, fencing }) => ({ attemptId, fencing })),
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
      for (const order of response.stop) this.applyStop(order);
      // Awaited (a ping at most), so the next poll already lists every attempt this one handed over.
      for (const assignment of response.assignments) await this.accept(assignment, registration.nodeId);
      for (const challenge of response.challenges) this.options.onChallenge?.(challenge);
      if (response.nextPollDelayMs > 0) await clock.sleep(response.nextPollDelayMs, this.stopping.signal);
    }
  }

  private async accept(assignment: Assignment, nodeId: string): Promise<void> {
    const { log } = this.options;
    // A repeated assignment (the answer to a poll that was retried) is the same attempt: run it once.
    if (this.attempts.has(assignment.attemptId)) return;
    // A window that closed while this poll was held: the region learns it on the next poll, so an
    // assignment it made meanwhile is handed back at once (placed elsewhere, no retry spent).
    if (!this.acceptingNow()) {
      void this.refuse(
        assignment,
        "outside the host's operating windows: the node is draining and takes no new work",
      );
      return;
    }
    const decision = this.options.imageDecision?.(assignment.image) ?? { allowed: true };
    if (!decision.allowed) {
      void this.refuse(assignment, `host policy refused the image: ${decision.why}`);
      return;
    }
    if (assignment.service && this.options.replicas === undefined) {
      void this.refuse(assignment, "this node's runtime cannot serve endpoint replicas");
      return;
    }
    // The engine may have stopped while this poll was held: an attempt started now could only fail,
    // as the node's fault. Handed back instead (placed elsewhere, no retry spent), and the next poll
    // says the node takes no work until the engine answers again.
    if (!(await this.engine.answers(() => this.reclaim(nodeId)))) {
      void this.refuse(
        assignment,
        `the node's container engine at ${this.options.runtime.location} does not answer, so the attempt was not started: handed back to be placed elsewhere`,
      );
      return;
    }
    if (this.attempts.has(assignment.attemptId)) return;
    log.info(`job ${assignment.jobId}: attempt ${assignment.attemptId} assigned (${assignment.image})`);
    this.runAttempt(assignment, nodeId, undefined);
  }

  /** Runs an attempt (or takes up its container after a restart) and forgets it once it ended. */
  private runAttempt(assignment: Assignment, nodeId: string, adopt: Adoption | undefined): void {
    const { runtime, client, clock, log } = this.options;
    const replica = assignment.service ? this.options.replicas?.(assignment, assignment.service) : undefined;
    const { usageSigner } = this.options;
    const usage = usageSigner && new UsageReceipt(assignment, nodeId, usageSigner, adopt !== undefined);
    const runner = new AttemptRunner(assignment, {
      nodeId,
      runtime,
      clock,
      log,
      ...(this.options.storage ? { storage: this.options.storage } : {}),
      ...(this.options.preflight ? { preflight: this.options.preflight } : {}),
      report: async (attemptId, body) =>
        // Each try is bounded, so a control plane that stops answering cannot hold a drain forever.
        client.report(attemptId, usage ? await usage.stamp(body) : body, {
          retries: body.type === "exited" ? 8 : 4,
          timeoutMs: REPORT_TIMEOUT_MS,
        }),
      ...(adopt ? { adopt } : {}),
      ...(replica ? { service: replica.hooks } : {}),
    });
    this.attempts.set(assignment.attemptId, runner);
    this.options.onAttemptsChanged?.();
    void runner.done.then(() => {
      replica?.finished();
      this.attempts.delete(assignment.attemptId);
      this.options.onAttemptsChanged?.();
      log.info(`job ${assignment.jobId}: attempt ${assignment.attemptId} ${runner.phase}`);
    });
  }

  /** Takes up the containers of an earlier run that are still this node's (container-reclaim.ts). */
  private reclaim(nodeId: string): Promise<void> {
    const { runtime, client, log } = this.options;
    return reclaimContainers(
      {
        runtime,
        client,
        log,
        signal: this.stopping.signal,
        timeoutMs: REPORT_TIMEOUT_MS,
        held: (attemptId) => this.attempts.has(attemptId),
      },
      nodeId,
      (assignment, adopt) => this.runAttempt(assignment, nodeId, adopt),
    );
  }

  /** Ends an assignment the host will not run, at once, so the job is placed elsewhere. */
  private async refuse(assignment: Assignment, message: string): Promise<void> {
    const { client, clock, log } = this.options;
    log.warn(`job ${assignment.jobId}: attempt ${assignment.attemptId} refused: ${message}`);
    try {
      await client.report(
        assignment.attemptId,
        {
          type: "exited",
          fencing: assignment.fencing,
          at: clock.now(),
          exitCode: null,
          reason: "error",
          message,
          errorKind: "host_policy",
        },
        { retries: 8, timeoutMs: REPORT_TIMEOUT_MS },
      );
    } catch (error) {
      log.error(
        `job ${assignment.jobId}: attempt ${assignment.attemptId}: refusal not delivered: ${errorMessage(error)}`,
      );
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

  private applyStop(order: StopOrder): void {
    const runner = this.attempts.get(order.attemptId);
    if (runner === undefined) return;
    if (order.reason === "cancelled") runner.requestStop("cancelled", "cancelled by its owner");
    // A pause stops the container the same way: SIGTERM, the grace period, the last checkpoint sync.
    else if (order.reason === "paused") runner.requestStop("cancelled", "paused by its owner");
    else runner.abandon(order.reason);
  }

  private async drain(): Promise<void> {
    // Said first, so the jobs its attempts give back are not placed on this node again meanwhile.
    await this.announceDrain();
    if (this.attempts.size > 0) {
      this.options.log.info(`shutting down: stopping ${this.attempts.size} running attempt(s)`);
      for (const runner of this.attempts.values())
        runner.requestStop("error", "the node's agent shut down", "node_shutdown");
      await Promise.all([...this.attempts.values()].map((runner) => runner.done));
    }
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
          running: [...this.attempts.values()].map(({ attemptId, fencing }) => ({ attemptId, fencing })),
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
