import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import {
  type ContainerExit,
  type ContainerLifecycle,
  type ContainerRuntime,
  type ContainerSpec,
  ContainerStartError,
  type FoundContainer,
  type LogSink,
  type RunningContainer,
} from "./container-runtime.js";

export interface HostProcessRuntimeOptions {
  /** Each attempt runs in its own folder under this one (its working directory and HOME). */
  workDir: string;
  /** Seconds between SIGTERM and SIGKILL when stopping. */
  stopGraceSeconds?: number;
}

/**
 * Runs a job's command as a plain process on this host: the development and trusted-host mode for
 * machines without a container engine. There is NO isolation: the job runs as the agent's user,
 * sees the host's files and network, and the image is ignored (the command must exist on the host).
 * Only limits that need no engine apply: the GPUs (CUDA_VISIBLE_DEVICES), the time limit, and a
 * clean environment, so the agent's own secrets (its owner API key) never reach the job.
 */
export class HostProcessRuntime implements ContainerRuntime {
  readonly location = "host processes (no container engine)";
  private readonly stopGraceSeconds: number;

  constructor(private readonly options: HostProcessRuntimeOptions) {
    this.stopGraceSeconds = options.stopGraceSeconds ?? 5;
  }

  async ping(): Promise<boolean> {
    return true;
  }

  /** Nothing to pull: the host runs commands, not images. */
  async ensureImage(): Promise<void> {}

  async start(spec: ContainerSpec, onLog: LogSink): Promise<RunningContainer> {
    const [program, ...args] = spec.command;
    if ((spec.mounts ?? []).length > 0) {
      // A host process sees the host's own paths: inputs, outputs and checkpoints need containers.
      throw new ContainerStartError(
        spec.attemptId,
        "jobs with inputs, outputs or checkpoints need the docker runtime",
      );
    }
    if (program === undefined) {
      throw new ContainerStartError(
        spec.attemptId,
        "the host runtime needs an explicit command: without a container engine an image's default command is unknown",
      );
    }
    const cwd = join(this.options.workDir, spec.attemptId);
    await mkdir(cwd, { recursive: true, mode: 0o700 });
    const child = spawn(program, args, {
      cwd,
      env: {
        PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
        HOME: cwd,
        LANG: process.env.LANG ?? "C.UTF-8",
        ...spec.env,
        MERIDIAN_JOB_ID: spec.jobId,
        MERIDIAN_ATTEMPT_ID: spec.attemptId,
        // Empty means "no GPU": a CPU job must not see the host's GPUs by default.
        CUDA_VISIBLE_DEVICES: spec.gpuUuids.join(","),
      },
      stdio: ["ignore", "pipe", "pipe"],
      // Its own process group, so stop() reaches the children the command starts as well.
      detached: true,
    });
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once("spawn", () => resolve(undefined));
      child.once("error", (error) => resolve(error));
    });
    if (spawned !== undefined) {
      await rm(cwd, { recursive: true, force: true });
      throw new ContainerStartError(spec.attemptId, spawned.message);
    }
    for (const name of ["stdout", "stderr"] as const) {
      const decoder = new StringDecoder("utf8");
      const stream = child[name];
      stream?.on("data", (chunk: Buffer) => {
        const text = decoder.write(chunk);
        if (text.length > 0) onLog(name, text);
      });
      stream?.on("end", () => {
        const rest = decoder.end();
        if (rest.length > 0) onLog(name, rest);
      });
    }
    return new HostProcess(child, cwd, this.stopGraceSeconds);
  }

  /** Processes of an earlier run are not tracked across restarts; they end with their session. */
  async removeLeftovers(): Promise<number> {
    return 0;
  }

  /** Not tracked across restarts (see removeLeftovers): there is nothing to find or take up. */
  async findAttempts(): Promise<FoundContainer[]> {
    return [];
  }

  async adopt(found: FoundContainer): Promise<RunningContainer> {
    throw new ContainerStartError(
      found.attemptId,
      "the host runtime cannot take up processes of an earlier run",
    );
  }

  async removeContainer(): Promise<void> {}
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGTERM: 15,
};

class HostProcess implements RunningContainer {
  readonly id: string;
  readonly exited: Promise<ContainerExit>;
  private lifecycle: ContainerLifecycle = "running";

  constructor(
    private readonly child: ChildProcess,
    private readonly cwd: string,
    private readonly stopGraceSeconds: number,
  ) {
    this.id = `pid-${child.pid ?? 0}`;
    this.exited = new Promise<ContainerExit>((resolve) => {
      // "close", not "exit": by then every byte of output has been delivered.
      child.once("close", (code, signal) => {
        if (this.lifecycle !== "removed") this.lifecycle = "exited";
        // As a shell reports it: 128 + the signal's number for a killed process.
        const exitCode = code ?? 128 + (signal === null ? 0 : (SIGNAL_NUMBERS[signal] ?? 0));
        resolve({ exitCode, oomKilled: false });
      });
    });
  }

  get state(): ContainerLifecycle {
    return this.lifecycle;
  }

  async stop(): Promise<void> {
    if (this.lifecycle !== "running") return;
    this.lifecycle = "stopping";
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), this.stopGraceSeconds * 1000);
    await this.exited;
    clearTimeout(timer);
  }

  async remove(): Promise<void> {
    if (this.lifecycle === "removed") return;
    await this.stop();
    await this.exited;
    await rm(this.cwd, { recursive: true, force: true });
    this.lifecycle = "removed";
  }

  private signal(signal: NodeJS.Signals): void {
    const pid = this.child.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is already gone, which is what the signal wanted.
    }
  }
}
