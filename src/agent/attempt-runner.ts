import type { Assignment, AttemptReport, ReportResponse } from "../shared/agent-protocol.js";
import { startErrorKind } from "../shared/start-errors.js";
import { type AgentLog, errorMessage } from "./agent-log.js";
import type { Clock } from "./clock.js";
import {
  type ContainerExit,
  type ContainerRuntime,
  type FoundContainer,
  ImagePullError,
  type LogOffsets,
  type RunningContainer,
} from "./container-runtime.js";
import { ControlPlaneError } from "./control-plane-client.js";
import { LogShipper } from "./log-shipper.js";
import type { AttemptStorage } from "./storage/attempt-storage.js";
import { StorageError } from "./storage/attempt-storage.js";

/** How long a signalled exit waits to see whether its engine is shutting down: 10 × 500 ms. */
const ENGINE_LOOKS = 10;
const ENGINE_LOOK_MS = 500;

type ExitReason = Extract<AttemptReport, { type: "exited" }>["reason"];
type ErrorKind = NonNullable<Extract<AttemptReport, { type: "exited" }>["errorKind"]>;
type EarlyStop = { reason: Exclude<ExitReason, "completed">; message: string; errorKind?: ErrorKind };

/** A container an earlier run of the agent started, to take up instead of starting one. */
export interface Adoption {
  found: FoundContainer;
  /** Whether the control plane has its `started` report already. */
  started: boolean;
  /** Where the stored output ends; the container's output is resumed from there. */
  from: LogOffsets;
}

/** Where an attempt stands, as the work loop and tests can observe it. */
export type AttemptPhase = "pulling" | "starting" | "running" | "reporting" | "finished" | "abandoned";

/**
 * What an endpoint replica adds to an attempt (src/agent/replica-runner.ts): it hears when the
 * container runs and when the attempt ended, and a stop waits for its drain first.
 */
export interface ServiceHooks {
  running(container: RunningContainer): void;
  /** Called before the container is stopped on purpose; the stop waits for it (bounded by it). */
  drain(): Promise<void>;
  /** The attempt is over; `detail` says why in words (an exit code, a failed pull, a stop). */
  ended(detail: string): void;
}

export interface AttemptRunnerDeps {
  nodeId: string;
  runtime: ContainerRuntime;
  report: (attemptId: string, body: AttemptReport) => Promise<ReportResponse>;
  clock: Clock;
  log: AgentLog;
  /** The attempt's data (secrets, inputs, outputs, checkpoint), for assignments that have any. */
  storage?: (assignment: Assignment, progress: (line: string) => void) => AttemptStorage | undefined;
  /**
   * Checked before a new attempt's image is pulled: the node's own reason it cannot hold an
   * attempt now (its data folder is full, say), reported as the node's error; undefined when fine.
   */
  preflight?: () => Promise<string | undefined>;
  /** Set for an attempt whose container survived an agent restart. */
  adopt?: Adoption;
  /** Set for an endpoint replica: a long-running container with no time limit, drained before a stop. */
  service?: ServiceHooks;
}

/**
 * One attempt from assignment to exit report: pull, start, `started`, logs, timeout, `exited`,
 * removal. A stale lease (409) at any point means the attempt is someone else's now: the container
 * is stopped and removed and nothing more is reported.
 */
export class AttemptRunner {
  readonly attemptId: string;
  readonly fencing: number;
  readonly jobId: string;
  readonly image: string;
  readonly done: Promise<void>;
  private phaseNow: AttemptPhase = "pulling";
  private earlyStop: EarlyStop | undefined;
  private stale = false;
  private container: RunningContainer | undefined;
  private readonly shipper: LogShipper;
  private releaseLogs: () => void = () => {};
  private storage: AttemptStorage | undefined;

  constructor(
    private readonly assignment: Assignment,
    private readonly deps: AttemptRunnerDeps,
  ) {
    this.attemptId = assignment.attemptId;
    this.fencing = assignment.fencing;
    this.jobId = assignment.jobId;
    this.image = assignment.image;
    this.shipper = new LogShipper({
      clock: deps.clock,
      after: new Promise<void>((resolve) => {
        this.releaseLogs = resolve;
      }),
      send: async (chunks) => {
        const response = await this.send({ type: "logs", fencing: this.fencing, chunks });
        if (response?.stop) this.requestStop("cancelled", "cancelled while running");
      },
      onSendError: (error) =>
        this.deps.log.warn(`${this.describe()}: logs not delivered: ${errorMessage(error)}`),
    });
    this.done = this.run().catch((error: unknown) => {
      this.deps.log.error(`${this.describe()}: ${errorMessage(error)}`);
    });
  }

  get phase(): AttemptPhase {
    return this.phaseNow;
  }

  /** Ends the attempt early; its exit is reported with this reason. The first reason given wins. */
  requestStop(reason: EarlyStop["reason"], message: string, errorKind?: ErrorKind): void {
    if (this.earlyStop !== undefined || this.phaseNow === "finished") return;
    this.earlyStop = { reason, message, ...(errorKind ? { errorKind } : {}) };
    this.stopContainer();
  }

  /**
   * A poll's stop order: the lease is gone (superseded, expired): stop and forget, report nothing.
   * Once the exit is being reported the attempt ends either way; a poll answered meanwhile lists
   * it as unknown only because the region already took the exit.
   */
  abandon(why: string): void {
    if (this.phaseNow === "reporting" || this.phaseNow === "finished") return;
    this.loseLease(why);
  }

  /** The lease is no longer this node's: stop and forget, report nothing more. */
  private loseLease(why: string): void {
    if (this.stale) return;
    this.stale = true;
    this.deps.log.warn(`${this.describe()}: no longer ours (${why}); stopping it`);
    this.shipper.abandon();
    this.storage?.stop();
    this.stopContainer();
  }

  private async run(): Promise<void> {
    const container = this.deps.adopt ? await this.adopt(this.deps.adopt) : await this.startContainer();
    if (container === undefined) return;
    this.container = container;
    this.phaseNow = "running";
    this.deps.service?.running(container);
    // A stop that came while the container was being created applies now.
    if (this.earlyStop || this.stale) this.stopContainer();

    const { assignment, deps } = this;
    const started = this.deps.adopt?.started
      ? undefined
      : await this.send({
          type: "started",
          fencing: this.fencing,
          at: deps.clock.now(),
          containerId: container.id,
          ...(container.imageDigest ? { imageDigest: container.imageDigest } : {}),
        });
    this.releaseLogs();
    if (started?.stop) this.requestStop("cancelled", "cancelled while starting");
    this.storage?.startSync();

    const cancelTimeout =
      assignment.timeoutSeconds > 0 && deps.service === undefined
        ? deps.clock.setTimer(
            () => this.requestStop("timeout", `ran past its ${assignment.timeoutSeconds} s time limit`),
            assignment.timeoutSeconds * 1000,
          )
        : () => {};
    let exit: ContainerExit | undefined;
    try {
      exit = await container.exited;
    } catch (error) {
      deps.log.error(`${this.describe()}: lost track of container ${container.id}: ${errorMessage(error)}`);
    } finally {
      cancelTimeout();
    }

    if (this.stale) {
      await container.remove();
      await this.storage?.cleanup();
      this.deps.service?.ended("the node no longer holds its lease");
      return this.markAbandoned();
    }
    const engineLost =
      exit !== undefined && this.earlyStop === undefined ? await this.engineGone(exit) : undefined;
    // The last checkpoint and the outputs go up before the exit is reported: after it the lease is gone.
    const storageProblem = await this.storage?.finish();
    await this.shipper.close();
    if (exit === undefined) {
      await this.finish(null, {
        reason: "error",
        message: "the container engine lost the container",
        errorKind: "runtime",
      });
    } else {
      const stop =
        this.earlyStop ??
        (engineLost !== undefined
          ? { reason: "error" as const, message: engineLost, errorKind: "runtime" as const }
          : undefined) ??
        (storageProblem !== undefined
          ? { reason: "error" as const, message: storageProblem, errorKind: "runtime" as const }
          : undefined) ??
        (exit.oomKilled ? { reason: "completed" as const, message: "out of memory" } : undefined);
      await this.finish(exit.exitCode, stop);
    }
    // Removed only after the exit is recorded, so a crash in between leaves evidence, not nothing.
    await container.remove();
    await this.storage?.cleanup();
  }

  /**
   * Whether a container's exit no one asked for came from its engine shutting down (a restart of
   * the engine stops every container with SIGTERM, then its API goes away): then the exit is the
   * node's, not the job's. Only a SIGTERM or SIGKILL exit that was not the memory limit is looked
   * at, for a few seconds.
   */
  private async engineGone(exit: ContainerExit): Promise<string | undefined> {
    if (exit.oomKilled || (exit.exitCode !== 143 && exit.exitCode !== 137)) return undefined;
    for (let look = 0; look < ENGINE_LOOKS; look++) {
      if (!(await this.deps.runtime.ping())) {
        return `the node's container engine (${this.deps.runtime.location}) stopped while the container ran (exit ${exit.exitCode})`;
      }
      await this.deps.clock.sleep(ENGINE_LOOK_MS);
    }
    return undefined;
  }

  /**
   * Pulls the image, prepares the attempt's data and starts the container; undefined when that
   * failed (the exit is reported already).
   */
  private async startContainer(): Promise<RunningContainer | undefined> {
    const { assignment, deps } = this;
    const problem = await deps.preflight?.();
    if (problem !== undefined) {
      await this.finish(null, { reason: "error", message: problem, errorKind: "runtime" });
      return undefined;
    }
    try {
      await deps.runtime.ensureImage(assignment.image);
    } catch (error) {
      const errorKind = error instanceof ImagePullError ? "image_pull" : "runtime";
      await this.finish(null, { reason: "error", message: errorMessage(error), errorKind });
      return undefined;
    }
    if (this.stale) {
      this.markAbandoned();
      return undefined;
    }
    if (this.earlyStop) {
      await this.finish(null, this.earlyStop);
      return undefined;
    }

    this.phaseNow = "starting";
    // Inputs fetched and verified, the checkpoint restored, before the container exists.
    this.storage = deps.storage?.(assignment, (line) => this.shipper.push("stderr", line));
    let prepared: Awaited<ReturnType<AttemptStorage["prepare"]>> = { env: {}, mounts: [] };
    if (this.storage) {
      try {
        prepared = await this.storage.prepare();
      } catch (error) {
        // The progress lines so far go out first (nothing waits for a `started` that never comes).
        this.releaseLogs();
        await this.shipper.close();
        const errorKind = error instanceof StorageError ? error.kind : "runtime";
        await this.finish(null, { reason: "error", message: errorMessage(error), errorKind });
        await this.storage.cleanup();
        return undefined;
      }
      if (this.stale) {
        await this.storage.cleanup();
        this.markAbandoned();
        return undefined;
      }
    }
    try {
      return await deps.runtime.start(
        {
          jobId: assignment.jobId,
          attemptId: assignment.attemptId,
          nodeId: deps.nodeId,
          image: assignment.image,
          command: assignment.command,
          env: { ...assignment.env, ...prepared.env },
          mounts: prepared.mounts,
          gpuUuids: assignment.gpuUuids,
          cpus: assignment.cpus,
          memoryMib: assignment.memoryMib,
        },
        (stream, data) => this.shipper.push(stream, data),
      );
    } catch (error) {
      this.shipper.abandon();
      this.releaseLogs();
      const message = errorMessage(error);
      await this.finish(null, { reason: "error", message, errorKind: startErrorKind(message) });
      await this.storage?.cleanup();
      return undefined;
    }
  }

  /** Takes up the container an earlier run of the agent started, its output resumed where it stopped. */
  private async adopt(adoption: Adoption): Promise<RunningContainer | undefined> {
    this.phaseNow = "starting";
    try {
      return await this.deps.runtime.adopt(
        adoption.found,
        (stream, data) => this.shipper.push(stream, data),
        adoption.from,
      );
    } catch (error) {
      this.shipper.abandon();
      this.releaseLogs();
      await this.finish(null, {
        reason: "error",
        message: `could not take up container ${adoption.found.id} after the agent restarted: ${errorMessage(error)}`,
        errorKind: "runtime",
      });
      await this.deps.runtime.removeContainer(adoption.found).catch(() => undefined);
      return undefined;
    }
  }

  private async finish(
    exitCode: number | null,
    stop: { reason: ExitReason; message: string; errorKind?: ErrorKind } | undefined,
  ): Promise<void> {
    this.deps.service?.ended(endDetail(exitCode, stop));
    if (this.stale) return this.markAbandoned();
    this.phaseNow = "reporting";
    const reason = stop?.reason ?? "completed";
    await this.send({
      type: "exited",
      fencing: this.fencing,
      at: this.deps.clock.now(),
      exitCode,
      reason,
      ...(stop?.message ? { message: stop.message.slice(0, 4096) } : {}),
      ...(stop?.errorKind ? { errorKind: stop.errorKind } : {}),
    });
    if (reason === "error")
      this.deps.log.warn(`${this.describe()}: failed: ${stop?.message ?? "unknown error"}`);
    this.phaseNow = "finished";
  }

  /** Sends a report; a stale lease abandons the attempt, other failures are logged and survived. */
  private async send(body: AttemptReport): Promise<ReportResponse | undefined> {
    if (this.stale) return undefined;
    try {
      return await this.deps.report(this.attemptId, body);
    } catch (error) {
      if (error instanceof ControlPlaneError && error.code === "stale_lease") {
        this.loseLease("the control plane refused its fencing number");
        return undefined;
      }
      if (body.type === "logs") throw error;
      this.deps.log.error(`${this.describe()}: ${body.type} report failed: ${errorMessage(error)}`);
      return undefined;
    }
  }

  private stopContainer(): void {
    const container = this.container;
    if (container === undefined) return;
    const drained = this.deps.service?.drain() ?? Promise.resolve();
    drained
      .then(() => container.stop())
      .catch((error: unknown) => {
        this.deps.log.error(
          `${this.describe()}: could not stop container ${container.id}: ${errorMessage(error)}`,
        );
      });
  }

  private markAbandoned(): void {
    this.phaseNow = "abandoned";
  }

  private describe(): string {
    return `job ${this.assignment.jobId} attempt ${this.attemptId}`;
  }
}

/** An attempt's end in words, for a replica's `failed` frame. */
function endDetail(
  exitCode: number | null,
  stop: { reason: ExitReason; message: string } | undefined,
): string {
  if (stop?.reason === "error" || exitCode === null) return stop?.message ?? "the container did not start";
  if (stop !== undefined && stop.reason !== "completed") return `stopped: ${stop.message}`;
  const how = stop?.message === "out of memory" ? "ran out of memory" : `exited with code ${exitCode}`;
  return `the container ${how}`;
}
