import Docker from "dockerode";
import { applyIsolation, assertIsolated } from "./container-hardening.js";
import {
  type ContainerExit,
  type ContainerLifecycle,
  type ContainerRuntime,
  type ContainerSpec,
  ContainerStartError,
  type FoundContainer,
  ImagePullError,
  type LogOffsets,
  type LogSink,
  type RunningContainer,
} from "./container-runtime.js";
import { pipeLogs } from "./docker-logs.js";
import { JobNetworks, jobNetworkName } from "./job-network.js";
import { DEFAULT_ISOLATION, type IsolationConfig } from "./policy/isolation-policy.js";

/** An engine image id: the sha256 content digest of the image's configuration. */
const IMAGE_DIGEST = /^sha256:[0-9a-f]{64}$/;

export const LABELS = { job: "meridian.job", attempt: "meridian.attempt", node: "meridian.node" } as const;

/** A fork bomb in a job must not take the host down with it. */
export const DEFAULT_PIDS_LIMIT = 4096;

export interface DockerRuntimeOptions {
  /** Unix socket of the engine; unset means DOCKER_HOST or /var/run/docker.sock (dockerode's rule). */
  socketPath?: string;
  /** Seconds between SIGTERM and SIGKILL when stopping a container. */
  stopGraceSeconds?: number;
  /** Extra labels on every container (tests use them to find and clean up what they started). */
  extraLabels?: Record<string, string>;
  /** How job containers are confined (the host policy's `isolation`); unset: the defaults. */
  isolation?: IsolationConfig;
  /** Folders a job's own bind mounts may come from; anything else is refused. */
  mountRoots?: string[];
}

/**
 * The resource limits and isolation of a job container. Pure, so the security-relevant part of
 * container creation can be checked without an engine: untrusted code gets no capabilities, no
 * privilege escalation, no host mounts, and exactly the GPUs it was assigned.
 */
export function buildHostConfig(
  spec: Pick<ContainerSpec, "cpus" | "memoryMib" | "gpuUuids" | "mounts">,
): Docker.HostConfig {
  const memoryBytes = spec.memoryMib > 0 ? spec.memoryMib * 1024 * 1024 : undefined;
  return {
    ...(spec.cpus > 0 ? { NanoCpus: Math.round(spec.cpus * 1e9) } : {}),
    // MemorySwap equal to Memory: the limit is real memory, not memory plus swap.
    ...(memoryBytes !== undefined ? { Memory: memoryBytes, MemorySwap: memoryBytes } : {}),
    PidsLimit: DEFAULT_PIDS_LIMIT,
    CapDrop: ["ALL"],
    SecurityOpt: ["no-new-privileges"],
    Privileged: false,
    // A tiny init as PID 1 forwards SIGTERM to the job and reaps its zombies.
    Init: true,
    // Only the attempt's own data folders (inputs read-only), made by the agent under its data dir.
    Binds: (spec.mounts ?? []).map((m) => `${m.source}:${m.target}:${m.readOnly ? "ro" : "rw"}`),
    Mounts: [],
    ...(spec.gpuUuids.length > 0
      ? { DeviceRequests: [{ Driver: "nvidia", DeviceIDs: [...spec.gpuUuids], Capabilities: [["gpu"]] }] }
      : {}),
  };
}

export function buildCreateOptions(
  spec: ContainerSpec,
  extraLabels: Record<string, string> = {},
): Docker.ContainerCreateOptions {
  return {
    name: containerName(spec.attemptId),
    Image: spec.image,
    ...(spec.command.length > 0 ? { Cmd: spec.command } : {}),
    Env: [
      ...Object.entries(spec.env).map(([key, value]) => `${key}=${value}`),
      `MERIDIAN_JOB_ID=${spec.jobId}`,
      `MERIDIAN_ATTEMPT_ID=${spec.attemptId}`,
    ],
    Labels: {
      ...extraLabels,
      [LABELS.job]: spec.jobId,
      [LABELS.attempt]: spec.attemptId,
      [LABELS.node]: spec.nodeId,
    },
    Tty: false,
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: buildHostConfig(spec),
  };
}

export function containerName(attemptId: string): string {
  return `meridian-${attemptId}`;
}

export class DockerRuntime implements ContainerRuntime {
  readonly docker: Docker;
  readonly location: string;
  private readonly stopGraceSeconds: number;
  private readonly extraLabels: Record<string, string>;
  private readonly isolation: IsolationConfig;
  private readonly mountRoots: string[];
  private readonly networks: JobNetworks;

  constructor(options: DockerRuntimeOptions = {}) {
    this.docker =
      options.socketPath === undefined ? new Docker() : new Docker({ socketPath: options.socketPath });
    this.location = options.socketPath ?? process.env.DOCKER_HOST ?? "/var/run/docker.sock";
    this.stopGraceSeconds = options.stopGraceSeconds ?? 5;
    this.extraLabels = options.extraLabels ?? {};
    this.isolation = options.isolation ?? DEFAULT_ISOLATION;
    this.mountRoots = options.mountRoots ?? [];
    this.networks = new JobNetworks(this.docker, this.isolation, this.extraLabels);
  }

  async ping(): Promise<boolean> {
    try {
      await this.docker.ping();
      return true;
    } catch {
      return false;
    }
  }

  async ensureImage(image: string): Promise<void> {
    try {
      await this.docker.getImage(image).inspect();
      return;
    } catch (error) {
      if (statusOf(error) !== 404) throw this.pullError(image, error);
    }
    let progress: NodeJS.ReadableStream;
    try {
      progress = await this.docker.pull(image);
    } catch (error) {
      throw this.pullError(image, error);
    }
    // The pull only happens while its progress stream is read; errors arrive as entries in it.
    const events = await new Promise<unknown[]>((resolve, reject) => {
      this.docker.modem.followProgress(progress, (error: Error | null, output: unknown[]) =>
        error ? reject(new ImagePullError(image, error.message)) : resolve(output),
      );
    });
    for (const event of events) {
      if (typeof event === "object" && event !== null && "error" in event) {
        throw new ImagePullError(image, String(event.error));
      }
    }
  }

  /**
   * An engine that answered refused the image: the image's problem. No answer at all (a refused or
   * missing socket) is the node's: its engine is down, whatever the image.
   */
  private pullError(image: string, error: unknown): Error {
    if (statusOf(error) !== undefined) return new ImagePullError(image, engineMessage(error));
    return new Error(
      `the node's Docker engine at ${this.location} does not answer (${engineMessage(error)})`,
    );
  }

  async start(spec: ContainerSpec, onLog: LogSink): Promise<RunningContainer> {
    const { options, imageDigest } = await this.isolatedCreateOptions(spec);
    const release = (): Promise<void> => this.networks.release(spec.attemptId);
    try {
      return await this.createAndStart(spec, options, onLog, release, imageDigest);
    } catch (error) {
      await release().catch(() => undefined);
      throw error;
    }
  }

  /** The job's own network, then create options confined by the host policy and checked. */
  private async isolatedCreateOptions(
    spec: ContainerSpec,
  ): Promise<{ options: Docker.ContainerCreateOptions; imageDigest: string | undefined }> {
    try {
      // A container of this attempt that survived an earlier try holds its network: replace both.
      await removeQuietly(this.docker.getContainer(containerName(spec.attemptId)));
      const network = await this.networks.create(spec);
      const image = await this.docker.getImage(spec.image).inspect();
      const options = applyIsolation(buildCreateOptions(spec, this.extraLabels), {
        policy: this.isolation,
        imageUser: image.Config?.User ?? "",
        networkName: network.name,
        gpuUuids: spec.gpuUuids,
      });
      assertIsolated(options, { gpuUuids: spec.gpuUuids, mountRoots: this.mountRoots });
      // The image id is the content digest of what runs, whatever tag named it: the attempt's record.
      return { options, imageDigest: IMAGE_DIGEST.test(image.Id) ? image.Id : undefined };
    } catch (error) {
      await this.networks.release(spec.attemptId).catch(() => undefined);
      throw new ContainerStartError(spec.attemptId, engineMessage(error));
    }
  }

  private async createAndStart(
    spec: ContainerSpec,
    options: Docker.ContainerCreateOptions,
    onLog: LogSink,
    release: () => Promise<void>,
    imageDigest: string | undefined,
  ): Promise<RunningContainer> {
    let container: Docker.Container;
    try {
      container = await this.docker.createContainer(options);
    } catch (error) {
      if (statusOf(error) !== 409) throw new ContainerStartError(spec.attemptId, engineMessage(error));
      // A container of this attempt survived an earlier try: replace it rather than fail the attempt.
      await removeQuietly(this.docker.getContainer(containerName(spec.attemptId)));
      container = await this.docker.createContainer(options).catch((retryError: unknown) => {
        throw new ContainerStartError(spec.attemptId, engineMessage(retryError));
      });
    }
    try {
      // Attach before start, so not a byte of output is missed, whatever the log driver.
      const stream = await container.attach({ stream: true, stdout: true, stderr: true });
      const logsDone = pipeLogs(this.docker, stream, onLog);
      await container.start();
      return new DockerContainer(container, logsDone, this.stopGraceSeconds, release, imageDigest);
    } catch (error) {
      await removeQuietly(container);
      throw new ContainerStartError(spec.attemptId, engineMessage(error));
    }
  }

  async removeLeftovers(nodeId: string): Promise<number> {
    const leftovers = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.node}=${nodeId}`] },
    });
    await Promise.all(leftovers.map((info) => removeQuietly(this.docker.getContainer(info.Id))));
    await this.networks.removeLeftovers(nodeId);
    return leftovers.length;
  }

  async findAttempts(nodeId: string): Promise<FoundContainer[]> {
    const listed = await this.docker.listContainers({
      all: true,
      filters: { label: [`${LABELS.node}=${nodeId}`] },
    });
    const found: FoundContainer[] = [];
    for (const info of listed) {
      const jobId = info.Labels[LABELS.job];
      const attemptId = info.Labels[LABELS.attempt];
      if (jobId === undefined || attemptId === undefined) continue;
      // "created" never started (a crash between create and start): nothing of it ran.
      found.push({ id: info.Id, jobId, attemptId, running: info.State === "running" });
    }
    return found;
  }

  async adopt(found: FoundContainer, onLog: LogSink, from: LogOffsets): Promise<RunningContainer> {
    const container = this.docker.getContainer(found.id);
    // The engine kept every byte the container wrote (its log driver); following the log from the
    // start and skipping what was delivered before resumes the output exactly where it stopped.
    const stream = await container.logs({ follow: true, stdout: true, stderr: true });
    const logsDone = pipeLogs(this.docker, stream, onLog, from);
    return new DockerContainer(container, logsDone, this.stopGraceSeconds, () =>
      this.networks.release(found.attemptId),
    );
  }

  async address(containerId: string, attemptId: string): Promise<string | undefined> {
    const info = await this.docker
      .getContainer(containerId)
      .inspect()
      .catch(() => undefined);
    const address = info?.NetworkSettings?.Networks?.[jobNetworkName(attemptId)]?.IPAddress;
    return address === undefined || address === "" ? undefined : address;
  }

  async removeContainer(found: FoundContainer): Promise<void> {
    await removeQuietly(this.docker.getContainer(found.id));
    await this.networks.release(found.attemptId).catch(() => undefined);
  }
}

class DockerContainer implements RunningContainer {
  readonly id: string;
  readonly imageDigest: string | undefined;
  readonly exited: Promise<ContainerExit>;
  private lifecycle: ContainerLifecycle = "running";

  constructor(
    private readonly container: Docker.Container,
    logsDone: Promise<void>,
    private readonly stopGraceSeconds: number,
    /** Removes what the container lived in (its job network and firewall rules). */
    private readonly release: () => Promise<void>,
    imageDigest?: string,
  ) {
    this.id = container.id;
    this.imageDigest = imageDigest;
    this.exited = this.waitForExit(logsDone);
    // Observed by whoever awaits it; this keeps an unobserved failure from crashing the process.
    this.exited.catch(() => {});
  }

  get state(): ContainerLifecycle {
    return this.lifecycle;
  }

  private async waitForExit(logsDone: Promise<void>): Promise<ContainerExit> {
    const result: unknown = await this.container.wait();
    const exitCode =
      typeof result === "object" && result !== null && "StatusCode" in result ? result.StatusCode : -1;
    // The log stream ends right after the process; bound the wait so a stuck stream cannot hide the exit.
    await Promise.race([logsDone, new Promise((resolve) => setTimeout(resolve, 5_000).unref())]);
    const oomKilled = await this.container.inspect().then(
      (info) => info.State.OOMKilled,
      () => false,
    );
    if (this.lifecycle !== "removed") this.lifecycle = "exited";
    return { exitCode: typeof exitCode === "number" ? exitCode : -1, oomKilled };
  }

  async stop(): Promise<void> {
    if (this.lifecycle !== "running") return;
    this.lifecycle = "stopping";
    try {
      await this.container.stop({ t: this.stopGraceSeconds });
    } catch (error) {
      // 304: already stopped; 404: already gone. Both are what stop wanted.
      const status = statusOf(error);
      if (status !== 304 && status !== 404) throw error;
    }
  }

  async remove(): Promise<void> {
    if (this.lifecycle === "removed") return;
    await this.stop();
    await this.exited.catch(() => undefined);
    await removeQuietly(this.container);
    // A network left behind is harmless and the next leftovers sweep takes it; the job is done.
    await this.release().catch(() => undefined);
    this.lifecycle = "removed";
  }
}

async function removeQuietly(container: Docker.Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    // 404: already gone; 409: removal already in progress. Either way it is going away.
    const status = statusOf(error);
    if (status !== 404 && status !== 409) throw error;
  }
}

function statusOf(error: unknown): number | undefined {
  return typeof error === "object" &&
    error !== null &&
    "statusCode" in error &&
    typeof error.statusCode === "number"
    ? error.statusCode
    : undefined;
}

/** The engine's own message ("pull access denied for ...") rather than dockerode's HTTP wrapper text. */
function engineMessage(error: unknown): string {
  if (typeof error === "object" && error !== null && "json" in error) {
    const json = error.json;
    if (typeof json === "object" && json !== null && "message" in json && typeof json.message === "string") {
      return json.message;
    }
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, "").trim();
}
