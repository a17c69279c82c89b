import { pullFailureText } from "./image-pull-message.js";
/**
 * The narrow face of a container engine the work loop needs. docker-runtime.ts implements it over
 * dockerode; nothing else in the agent knows about Docker.
 */

export type LogStream = "stdout" | "stderr";

/** A host folder or file of the attempt's own, bound into the container (inputs, outputs, checkpoint). */
export interface Mount {
  source: string;
  target: string;
  readOnly: boolean;
}

/** What to run for one attempt; the runtime turns it into an isolated, limited container. */
export interface ContainerSpec {
  jobId: string;
  attemptId: string;
  nodeId: string;
  image: string;
  /** Empty: the image's default command. */
  command: string[];
  env: Record<string, string>;
  /** GPU uuids the container may see; empty for a CPU-only job. */
  gpuUuids: string[];
  cpus: number;
  memoryMib: number;
  /** The attempt's own data folders; nothing else of the host is ever mounted. */
  mounts?: Mount[];
}

/** How a container's life is going. Transitions only move forward along this list. */
export type ContainerLifecycle = "running" | "stopping" | "exited" | "removed";

export interface ContainerExit {
  exitCode: number;
  /** True when the engine killed it for running out of memory. */
  oomKilled: boolean;
}

export interface RunningContainer {
  readonly id: string;
  /** The content digest (`sha256:…`) of the image it runs, when the engine has one (a host process has none). */
  readonly imageDigest?: string | undefined;
  readonly state: ContainerLifecycle;
  /** Settles once the process exited and every log line it wrote was delivered. */
  readonly exited: Promise<ContainerExit>;
  /** SIGTERM, then SIGKILL after the grace period; a container already gone is fine. */
  stop(): Promise<void>;
  /** Removes the container (stopping it first if needed); a container already gone is fine. */
  remove(): Promise<void>;
}

export type LogSink = (stream: LogStream, data: string) => void;

/** A container of one of this node's attempts, found by its labels after the agent restarted. */
export interface FoundContainer {
  id: string;
  jobId: string;
  attemptId: string;
  /** False once its process has exited (it may have finished while the agent was away). */
  running: boolean;
}

/** Bytes of each stream already delivered: re-attaching resumes the output right after them. */
export interface LogOffsets {
  stdout: number;
  stderr: number;
}

export interface ContainerRuntime {
  /** Where the engine is expected (a socket path or URL), for messages to the operator. */
  readonly location: string;
  /** Whether the engine answers at all. */
  ping(): Promise<boolean>;
  /** Makes the image available locally, pulling it when absent; throws ImagePullError. */
  ensureImage(image: string): Promise<void>;
  /** Creates and starts the container, delivering its output to `onLog` from its first byte. */
  start(spec: ContainerSpec, onLog: LogSink): Promise<RunningContainer>;
  /** Removes containers a previous run of this node left behind; returns how many. */
  removeLeftovers(nodeId: string): Promise<number>;
  /** This node's attempt containers that exist now, running or exited, found by their labels. */
  findAttempts(nodeId: string): Promise<FoundContainer[]>;
  /**
   * Takes up a container an earlier run of the agent started: its output from `from` on (so none is
   * delivered twice or lost), its exit. The container may have exited already.
   */
  adopt(found: FoundContainer, onLog: LogSink, from: LogOffsets): Promise<RunningContainer>;
  /** Removes one found container (and what it lived in); one already gone is fine. */
  removeContainer(found: FoundContainer): Promise<void>;
  /**
   * Where the agent reaches a running container's ports (its address on the attempt's own
   * network), for endpoint replicas; undefined when the container has none (it is gone).
   */
  address?(containerId: string, attemptId: string): Promise<string | undefined>;
}

export class ImagePullError extends Error {
  readonly code = "image_pull_failed";
  readonly image: string;
  constructor(image: string, reason: string) {
    super(pullFailureText(image, reason));
    this.name = "ImagePullError";
    this.image = image;
  }
}

export class ContainerStartError extends Error {
  readonly code = "container_start_failed";
  constructor(attemptId: string, reason: string) {
    super(`could not start the container of attempt ${attemptId}: ${reason}`);
    this.name = "ContainerStartError";
  }
}
