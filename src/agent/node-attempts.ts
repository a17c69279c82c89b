import type { Assignment, StopOrder } from "../shared/agent-protocol.js";
import type { AgentLog } from "./agent-log.js";
import { errorMessage } from "./agent-log.js";
import { type Adoption, AttemptRunner, type AttemptRunnerDeps } from "./attempt-runner.js";
import type { Clock } from "./clock.js";
import { reclaimContainers } from "./container-reclaim.js";
import type { ContainerRuntime } from "./container-runtime.js";
import type { ControlPlaneClient } from "./control-plane-client.js";
import { EngineHealth } from "./engine-health.js";
import type { ImageDecision } from "./policy/image-policy.js";
import type { ReplicaFactory } from "./replica-hosting.js";
import { UsageReceipt, type UsageSigner } from "./usage-receipt.js";

/** How long one report request may take before it is given up (and retried). */
const REPORT_TIMEOUT_MS = 15_000;

export interface NodeAttemptsOptions {
  client: ControlPlaneClient;
  runtime: ContainerRuntime;
  clock: Clock;
  log: AgentLog;
  /** Whether the host policy lets this image run; default every image. */
  imageDecision?: (image: string) => ImageDecision;
  /** Attempts started or ended (the agent's state file, the jobs gauge). */
  onAttemptsChanged?: () => void;
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
 * The attempts this node holds, and what happens to each: an assignment checked and started (or
 * handed back), the containers of an earlier run taken up, stop orders, and the stop of all of
 * them when the agent drains.
 */
export class NodeAttempts {
  private readonly attempts = new Map<string, AttemptRunner>();
  private readonly engine: EngineHealth;

  constructor(
    private readonly options: NodeAttemptsOptions,
    /** The operating windows' answer now (the work loop logs its flips). */
    private readonly acceptingNow: () => boolean,
    /** Aborted when the agent stops. */
    private readonly signal: AbortSignal,
  ) {
    this.engine = new EngineHealth(options.runtime, options.log);
  }

  /** Attempts currently held by this node (running, stopping or reporting). */
  get running(): ReadonlyMap<string, AttemptRunner> {
    return this.attempts;
  }

  /** What a poll lists so the leases of the attempts held are renewed. */
  leases(): { attemptId: string; fencing: number }[] {
    return [...this.attempts.values()].map(({ attemptId, fencing }) => ({ attemptId, fencing }));
  }

  /** Whether the container engine answers; once it is back, the containers it left are taken up. */
  engineAnswers(nodeId: string): Promise<boolean> {
    return this.engine.answers(() => this.reclaim(nodeId));
  }

  async accept(assignment: Assignment, nodeId: string): Promise<void> {
    const { log } = this.options;
    // A repeated assignment (the answer to a poll that was retried) is the same attempt: run it once.
    if (this.attempts.has(assignment.attemptId)) return;
    // A window that closed while this poll was held: the region learns it on the next poll, so an
    // assignment it made meanwhile is handed back at once (placed elsewhere, no retry spent).
    if (!this.acceptingNow()) {
      void this.refuse(
        assignment,
        "outside the host's operating windows: the node is draining and takes no new work",
        "unavailable",
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
    if (!(await this.engineAnswers(nodeId))) {
      void this.refuse(
        assignment,
        `the node's container engine at ${this.options.runtime.location} does not answer, so the attempt was not started: handed back`,
        "unavailable",
      );
      return;
    }
    if (this.attempts.has(assignment.attemptId)) return;
    log.info(`job ${assignment.jobId}: attempt ${assignment.attemptId} assigned (${assignment.image})`);
    this.runAttempt(assignment, nodeId, undefined);
  }

  /** Takes up the containers of an earlier run that are still this node's (container-reclaim.ts). */
  reclaim(nodeId: string): Promise<void> {
    const { runtime, client, log } = this.options;
    return reclaimContainers(
      {
        runtime,
        client,
        log,
        signal: this.signal,
        timeoutMs: REPORT_TIMEOUT_MS,
        held: (attemptId) => this.attempts.has(attemptId),
      },
      nodeId,
      (assignment, adopt) => this.runAttempt(assignment, nodeId, adopt),
    );
  }

  applyStop(order: StopOrder): void {
    const runner = this.attempts.get(order.attemptId);
    if (runner === undefined) return;
    if (order.reason === "cancelled") runner.requestStop("cancelled", "cancelled by its owner");
    // A pause stops the container the same way: SIGTERM, the grace period, the last checkpoint sync.
    else if (order.reason === "paused") runner.requestStop("cancelled", "paused by its owner");
    else runner.abandon(order.reason);
  }

  /** Stops every attempt held (the agent shuts down) and settles once each has been reported. */
  async stopAll(): Promise<void> {
    if (this.attempts.size === 0) return;
    this.options.log.info(`shutting down: stopping ${this.attempts.size} running attempt(s)`);
    for (const runner of this.attempts.values())
      runner.requestStop("error", "the node's agent shut down", "node_shutdown");
    await Promise.all([...this.attempts.values()].map((runner) => runner.done));
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

  /**
   * Ends an assignment the host will not run, at once, so the job is placed again: kept off this
   * node for good (`host_policy`), or only while it cannot take work (`unavailable`:
   * src/durable/handback.ts).
   */
  private async refuse(
    assignment: Assignment,
    message: string,
    errorKind: "host_policy" | "unavailable" = "host_policy",
  ): Promise<void> {
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
          errorKind,
        },
        { retries: 8, timeoutMs: REPORT_TIMEOUT_MS },
      );
    } catch (error) {
      log.error(
        `job ${assignment.jobId}: attempt ${assignment.attemptId}: refusal not delivered: ${errorMessage(error)}`,
      );
    }
  }
}
