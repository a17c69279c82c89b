import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import type { z } from "zod";
import { RegisterRequest, type RegisterResponse } from "../shared/agent-protocol.js";
import type { HardwareReport } from "../shared/hardware.js";
import { type AgentConfig, ConfigError, loadConfig, saveNodeId } from "./agent-config.js";
import { type AgentLog, consoleLog, errorMessage } from "./agent-log.js";
import { type Clock, systemClock } from "./clock.js";
import type { ContainerRuntime } from "./container-runtime.js";
import { ControlPlaneClient } from "./control-plane-client.js";
import { DockerRuntime } from "./docker-runtime.js";
import { detectGpus, nvidiaSmiPath } from "./gpu-detect.js";
import { hostHardware } from "./host-info.js";
import { loadOrCreateIdentity } from "./identity.js";
import { WorkLoop } from "./work-loop.js";

export const AGENT_VERSION = "0.1.0";

export interface StartAgentOptions {
  /** Where the identity key and config live; created when missing. */
  dataDir: string;
  /** Settings that override the config file (the CLI flags). */
  controlPlane?: string;
  region?: string;
  pricePerGpuHour?: string;
  labels?: Record<string, string>;
  dockerSocket?: string;
  /** The provider's API key; registering with it records that account as the node's owner. */
  ownerApiKey?: string;
  log?: AgentLog;
  clock?: Clock;
  /** A container runtime other than the local Docker engine (tests). */
  runtime?: ContainerRuntime;
  /** Seconds between SIGTERM and SIGKILL when a container is stopped. */
  stopGraceSeconds?: number;
  dockerRetryMs?: number;
  /** The nvidia-smi binary; defaults to MERIDIAN_NVIDIA_SMI or `nvidia-smi`. */
  nvidiaSmi?: string;
}

export interface AgentHandle {
  /** Base58 ed25519 public key: the node's identity and Solana address. */
  readonly publicKey: string;
  readonly config: AgentConfig;
  readonly hardware: HardwareReport;
  /** Settles on the first successful registration; rejects if the agent stops before it. */
  readonly registered: Promise<RegisterResponse>;
  /** Settles when the agent has stopped (after `stop()`). */
  readonly done: Promise<void>;
  /** Drains: takes no more work, stops running containers, reports them, then settles. */
  stop(): Promise<void>;
}

/**
 * Starts a host agent in this process. Resolves once the identity, config and hardware are known;
 * registration and the work loop carry on in the background (see `registered` and `done`).
 */
export async function startAgent(options: StartAgentOptions): Promise<AgentHandle> {
  const log = options.log ?? consoleLog;
  const clock = options.clock ?? systemClock;
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const identity = await loadOrCreateIdentity(dataDir);
  const config = await loadConfig(dataDir, {
    controlPlane: options.controlPlane,
    region: options.region,
    pricePerGpuHour: options.pricePerGpuHour,
    labels: options.labels,
    dockerSocket: options.dockerSocket,
    ownerApiKey: options.ownerApiKey,
  });

  const detection = await detectGpus(options.nvidiaSmi ?? nvidiaSmiPath());
  const hardware = await hostHardware(dataDir, detection.gpus);
  const registration: z.input<typeof RegisterRequest> = {
    ...(config.region ? { region: config.region } : {}),
    hardware,
    pricePerGpuHour: config.pricePerGpuHour,
    labels: config.labels,
    agentVersion: AGENT_VERSION,
    runtime: "docker",
  };
  // Refuse a bad registration here, with the reason, rather than as a 400 from the server later.
  const checked = RegisterRequest.safeParse(registration);
  if (!checked.success) {
    const problems = checked.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    throw new ConfigError(`this node cannot register as configured:\n  ${problems.join("\n  ")}`);
  }

  log.info(`node key ${identity.publicKeyBase58} (${identity.path})`);
  if (detection.gpus.length === 0) {
    log.info(`no NVIDIA GPU found: registering as a CPU node (${detection.note ?? "none reported"})`);
  }
  for (const gpu of detection.gpus) {
    log.info(
      `GPU ${gpu.index}: ${gpu.name}${gpu.model ? ` [${gpu.model}]` : " [not in the catalogue]"}, ${gpu.vramMib} MiB, ${gpu.uuid}`,
    );
  }

  const client = new ControlPlaneClient({
    baseUrl: config.controlPlane,
    identity,
    clock,
    ownerApiKey: config.ownerApiKey,
  });
  const runtime =
    options.runtime ??
    new DockerRuntime({
      ...(config.dockerSocket ? { socketPath: config.dockerSocket } : {}),
      ...(options.stopGraceSeconds !== undefined ? { stopGraceSeconds: options.stopGraceSeconds } : {}),
    });
  const loop = new WorkLoop({
    client,
    runtime,
    clock,
    log,
    registration,
    dockerRetryMs: options.dockerRetryMs,
    onRegistered: async (response) => {
      if (response.nodeId !== config.nodeId) {
        await saveNodeId(dataDir, response.nodeId);
        config.nodeId = response.nodeId;
      }
      log.info(
        `registered with ${config.controlPlane} as node ${response.nodeId} in region ${response.region}`,
      );
    },
  });
  const done = loop.run();
  // Logged here so a crash of the loop is never silent, whether or not the caller awaits `done`.
  done.catch((error: unknown) =>
    log.error(`the agent stopped on an unexpected error: ${errorMessage(error)}`),
  );
  return {
    publicKey: identity.publicKeyBase58,
    config,
    hardware,
    registered: loop.registered,
    done,
    stop: async () => {
      loop.stop();
      await done;
    },
  };
}
