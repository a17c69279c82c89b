import type { RegisterResponse } from "../shared/agent-protocol.js";
import type { HardwareReport } from "../shared/hardware.js";
import type { AgentConfig, ConfigOverrides } from "./agent-config.js";
import type { AgentLog } from "./agent-log.js";
import type { Clock } from "./clock.js";
import type { ContainerRuntime } from "./container-runtime.js";

export interface StartAgentOptions {
  /** Where the identity key and config live; created when missing. */
  dataDir: string;
  /** Settings that override the config file (the CLI flags). */
  controlPlane?: string;
  region?: string;
  pricePerGpuHour?: string;
  /** Asking price per vCPU-hour of CPU-only work (unset: the network's CPU table). */
  pricePerVcpuHour?: string;
  labels?: Record<string, string>;
  dockerSocket?: string;
  /** The provider's API key; registering with it records that account as the node's owner. */
  ownerApiKey?: string;
  /** "host": run jobs as plain host processes (no Docker engine; trusted hosts only). */
  runtimeKind?: "docker" | "host";
  log?: AgentLog;
  clock?: Clock;
  /** A container runtime other than the local Docker engine (tests). */
  runtime?: ContainerRuntime;
  /** Seconds between SIGTERM and SIGKILL when a container is stopped. */
  stopGraceSeconds?: number;
  dockerRetryMs?: number;
  /** The nvidia-smi binary; defaults to MERIDIAN_NVIDIA_SMI or `nvidia-smi`. */
  nvidiaSmi?: string;
  /** How often the GPUs and host are sampled (default 5 s) and the RTT probed (default 60 s). */
  sampleIntervalMs?: number;
  rttIntervalMs?: number;
  /** Debounce of config-file changes (tests shorten it). */
  configDebounceMs?: number;
}

export interface AgentHandle {
  /** Base58 ed25519 public key: the node's identity and Solana address. */
  readonly publicKey: string;
  /** The config in force now (replaced when the file changes). */
  readonly config: AgentConfig;
  /** What the node registers: only the shared part of the host. */
  readonly hardware: HardwareReport;
  /** Settles on the first successful registration; rejects if the agent stops before it. */
  readonly registered: Promise<RegisterResponse>;
  /** Settles when the agent has stopped (after `stop()`). */
  readonly done: Promise<void>;
  /** The Prometheus endpoint, when `metricsPort` is set. */
  readonly metricsUrl: string | undefined;
  /** Drains: takes no more work, stops running containers, reports them, then settles. */
  stop(): Promise<void>;
}

/** The options that are settings of the config file: they override what the file says. */
export function configOverrides(options: StartAgentOptions): ConfigOverrides {
  return {
    controlPlane: options.controlPlane,
    region: options.region,
    pricePerGpuHour: options.pricePerGpuHour,
    pricePerVcpuHour: options.pricePerVcpuHour,
    labels: options.labels,
    dockerSocket: options.dockerSocket,
    ownerApiKey: options.ownerApiKey,
    runtime: options.runtimeKind,
  };
}
