import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { HardwareReport } from "../shared/hardware.js";
import { type AgentConfig, loadConfig, reloadConfig, saveNodeId } from "./agent-config.js";
import { type AgentLock, acquireAgentLock } from "./agent-lock.js";
import { consoleLog, errorMessage } from "./agent-log.js";
import { type AgentHandle, configOverrides, type StartAgentOptions } from "./agent-options.js";
import { AgentStateFile } from "./agent-state.js";
import { measureBandwidthGbps } from "./bandwidth-probe.js";
import { systemClock } from "./clock.js";
import { watchConfig } from "./config-watcher.js";
import { ControlPlaneClient } from "./control-plane-client.js";
import { DataFolderHealth } from "./data-folder.js";
import { DockerRuntime } from "./docker-runtime.js";
import { detectGpus, nvidiaSmiPath } from "./gpu-detect.js";
import { hostHardware } from "./host-info.js";
import { HostProcessRuntime } from "./host-process-runtime.js";
import { loadOrCreateIdentity } from "./identity.js";
import { sampleGpus } from "./monitoring/gpu-metrics.js";
import { HostSampler } from "./monitoring/host-metrics.js";
import { NodeMonitor } from "./monitoring/node-monitor.js";
import { renderPrometheus, serveMetrics } from "./monitoring/prometheus.js";
import { logHardware, shareOf } from "./node-hardware.js";
import { compareConfigs, HostPolicy, sameConfig } from "./policy/host-policy.js";
import { PresenceSocket } from "./presence-socket.js";
import { ProviderApi } from "./provider-api.js";
import { buildRegistration, checkRegistration } from "./registration.js";
import { replicaHosting } from "./replica-hosting.js";
import { attemptStorageFactory, inputCacheBytes, storageMountRoots } from "./storage/storage-factory.js";
import { nvmlAttestationSource } from "./verification/attestation-source.js";
import { benchmarkEngine, chooseEngine } from "./verification/benchmark-engine.js";
import { ChallengeQueue } from "./verification/challenge-queue.js";
import { WorkLoop } from "./work-loop.js";

export type { AgentHandle, StartAgentOptions } from "./agent-options.js";
export { AGENT_VERSION } from "./registration.js";

/**
 * Starts a host agent in this process. Resolves once the identity, config and hardware are known;
 * registration and the work loop carry on in the background (see `registered` and `done`).
 */
export async function startAgent(options: StartAgentOptions): Promise<AgentHandle> {
  const dataDir = resolve(options.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Before anything else: a second agent on this identity must not touch the first one's containers.
  const lock = await acquireAgentLock(dataDir);
  try {
    return await startLocked(options, dataDir, lock);
  } catch (error) {
    await lock.release();
    throw error;
  }
}

async function startLocked(
  options: StartAgentOptions,
  dataDir: string,
  lock: AgentLock,
): Promise<AgentHandle> {
  const log = options.log ?? consoleLog;
  const clock = options.clock ?? systemClock;
  const identity = await loadOrCreateIdentity(dataDir);
  const overrides = configOverrides(options);
  let config = await loadConfig(dataDir, overrides);
  const runtimeKind = config.runtime ?? "docker";

  const detection = await detectGpus(options.nvidiaSmi ?? nvidiaSmiPath());
  const host = await hostHardware(dataDir, detection.gpus);
  let hardware = shareOf(host, config);
  let policy = new HostPolicy(config);
  const engineChoice = chooseEngine({
    configured: config.benchmarkMode,
    runtime: runtimeKind,
    sharesGpus: hardware.gpus.length > 0,
    image: config.benchmarkImage,
  });
  const api = new ProviderApi({ baseUrl: config.controlPlane, ownerApiKey: config.ownerApiKey });
  // Checked now with the price it would ask without a suggestion, so a bad config stops the start.
  checkRegistration({
    hardware,
    pricePerGpuHour:
      config.pricePerGpuHour === "auto" ? (config.priceFloorPerGpuHour ?? "0") : config.pricePerGpuHour,
    ...(config.pricePerVcpuHour === undefined
      ? {}
      : {
          pricePerVcpuHour:
            config.pricePerVcpuHour === "auto"
              ? (config.priceFloorPerVcpuHour ?? "0")
              : config.pricePerVcpuHour,
        }),
    labels: config.labels,
    agentVersion: "check",
    runtime: "docker",
    ...(config.payoutWallet ? { payoutWallet: config.payoutWallet } : {}),
  });

  log.info(`node key ${identity.publicKeyBase58} (${identity.path})`);
  logHardware(log, detection.gpus, hardware, detection.note);
  if (runtimeKind === "host") {
    log.warn("runtime host: jobs run as plain processes on this machine with NO isolation; trusted use only");
  }

  const client = new ControlPlaneClient({
    baseUrl: config.controlPlane,
    identity,
    clock,
    ownerApiKey: config.ownerApiKey,
  });
  const runtime =
    options.runtime ??
    (runtimeKind === "host"
      ? new HostProcessRuntime({ workDir: join(dataDir, "work"), stopGraceSeconds: options.stopGraceSeconds })
      : new DockerRuntime({
          ...(config.dockerSocket ? { socketPath: config.dockerSocket } : {}),
          ...(config.isolation ? { isolation: config.isolation } : {}),
          ...(options.stopGraceSeconds !== undefined ? { stopGraceSeconds: options.stopGraceSeconds } : {}),
          // The attempts' own data folders and the verified-input cache (mounted read-only).
          mountRoots: storageMountRoots(dataDir),
        }));
  const dataFolder = new DataFolderHealth(dataDir, log);
  const state = new AgentStateFile(dataDir, () => clock.now(), dataFolder);
  // Endpoint replicas, and the tunnel to them riding the presence socket.
  const hosting = runtimeKind === "docker" ? replicaHosting({ runtime, clock, log }) : undefined;
  // Region presence: its close is how the region learns at once that this process died.
  const presence = new PresenceSocket(client, log, hosting?.tunnel);

  const monitor = new NodeMonitor({
    clock,
    log,
    gpus: hardware.gpus,
    sampleGpus: () => sampleGpus(options.nvidiaSmi ?? nvidiaSmiPath()),
    sampleHost: (() => {
      const sampler = new HostSampler(dataDir);
      return () => sampler.sample();
    })(),
    probeRtt: async () => (await api.health()).rttMs,
    ...(options.sampleIntervalMs !== undefined ? { sampleIntervalMs: options.sampleIntervalMs } : {}),
    ...(options.rttIntervalMs !== undefined ? { rttIntervalMs: options.rttIntervalMs } : {}),
  });

  let loop: WorkLoop | undefined;
  const challenges = new ChallengeQueue({
    client,
    engine: benchmarkEngine(engineChoice, {
      ...(runtime instanceof DockerRuntime ? { docker: runtime.docker } : {}),
      ...(process.env.MERIDIAN_PYTHON ? { python: process.env.MERIDIAN_PYTHON } : {}),
    }),
    clock,
    log,
    nodeId: () => loop?.nodeId,
    sharedGpuUuids: () => hardware.gpus.map((gpu) => gpu.uuid),
    attestation: nvmlAttestationSource({ python: process.env.MERIDIAN_PYTHON }),
    onJudged: (challenge, result) =>
      state.update((current) => {
        current.verification[challenge.gpuUuid] = {
          challengeId: challenge.id,
          model: challenge.model,
          outcome: result.outcome,
          ...(result.judgement.measured
            ? {
                tflops: result.judgement.measured.tflops,
                bandwidthGBps: result.judgement.measured.bandwidthGBps,
              }
            : {}),
          reasons: result.judgement.reasons.map((reason) => reason.message),
          at: result.judgement.judgedAt,
        };
      }),
  });

  let knownRegion: string | undefined;
  let acceptingRecorded: boolean | undefined;
  const workLoop = new WorkLoop({
    client,
    runtime,
    clock,
    log,
    usageSigner: identity,
    registration: () =>
      buildRegistration({
        config,
        hardware,
        runtime: runtimeKind,
        benchmark: engineChoice,
        api,
        log,
        knownRegion,
        measureBandwidth: () => measureBandwidthGbps(config.controlPlane, log),
      }),
    acceptingWork: () => {
      // A data folder that refused a write keeps the node out of placement until a probe finds
      // room again (probed on each poll, so the next poll after that takes work).
      if (dataFolder.current !== undefined) void dataFolder.probe();
      const open = policy.schedule.isOpen(clock.now()) && dataFolder.current === undefined;
      if (open !== acceptingRecorded) {
        acceptingRecorded = open;
        state.update((current) => {
          current.acceptingWork = open;
        });
      }
      return open;
    },
    imageDecision: (image) => policy.images.decide(image),
    extras: monitor,
    onChallenge: (challenge) => challenges.enqueue(challenge),
    onAttemptsChanged: () =>
      state.update((current) => {
        current.running = [...workLoop.running.values()].map(({ jobId, attemptId, image }) => ({
          jobId,
          attemptId,
          image,
        }));
      }),
    dockerRetryMs: options.dockerRetryMs,
    preflight: () => dataFolder.probe(),
    ...(hosting ? { replicas: hosting.start } : {}),
    storage: attemptStorageFactory({
      dataDir,
      client,
      clock,
      log,
      cacheBytes: inputCacheBytes(host.diskFreeMib),
    }),
    onRegistered: async (response) => {
      if (response.nodeId !== config.nodeId) {
        await saveNodeId(dataDir, response.nodeId);
        config.nodeId = response.nodeId;
      }
      knownRegion = response.region;
      presence.start();
      state.update((current) => {
        current.nodeId = response.nodeId;
        current.region = response.region;
        current.registeredAt = clock.now();
      });
      log.info(
        `registered with ${config.controlPlane} as node ${response.nodeId} in region ${response.region}`,
      );
    },
  });
  loop = workLoop;

  const applyConfigChange = async (): Promise<void> => {
    let next: AgentConfig;
    let nextHardware: HardwareReport;
    try {
      next = await reloadConfig(dataDir, overrides);
      nextHardware = shareOf(host, next);
    } catch (error) {
      log.error(`config change not applied, keeping the settings in use: ${errorMessage(error)}`);
      return;
    }
    // The node id is the agent's own record, not a setting: a hand edit must not change who we are.
    next.nodeId = config.nodeId;
    if (sameConfig(config, next)) return;
    const change = compareConfigs(config, next);
    config = next;
    hardware = nextHardware;
    policy = new HostPolicy(next);
    monitor.setGpus(nextHardware.gpus);
    log.info("config file changed: operating windows and image rules apply now");
    if (change.needRestart.length > 0) {
      log.warn(`changed settings that apply on the next start: ${change.needRestart.join(", ")}`);
    }
    if (change.reregister) workLoop.requestReregistration();
  };
  const watcher = watchConfig(dataDir, () => void applyConfigChange(), options.configDebounceMs);

  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  if (config.metricsPort !== undefined) {
    metricsServer = await serveMetrics(config.metricsPort, config.metricsAddress ?? "127.0.0.1", () =>
      renderPrometheus(monitor.latest, {
        jobsRunning: workLoop.running.size,
        acceptingWork: policy.schedule.isOpen(clock.now()),
        rttMs: monitor.rttMs,
      }),
    );
    log.info(`Prometheus metrics at ${metricsServer.url}`);
  }

  if (engineChoice.mode === "container" && engineChoice.image !== undefined) {
    const image = engineChoice.image;
    // Pulled ahead of the first challenge: a multi-GiB pull inside the setup deadline would fail it.
    void runtime.ensureImage(image).then(
      () => log.info(`verification benchmark image ${image} is ready`),
      (error: unknown) => log.warn(`could not pre-pull the benchmark image ${image}: ${errorMessage(error)}`),
    );
  }

  monitor.start();
  const done = workLoop.run().finally(async () => {
    presence.stop();
    watcher.close();
    await monitor.stop();
    await metricsServer?.close();
    await state.flushed();
    await lock.release();
  });
  // Logged here so a crash of the loop is never silent, whether or not the caller awaits `done`.
  done.catch((error: unknown) =>
    log.error(`the agent stopped on an unexpected error: ${errorMessage(error)}`),
  );
  return {
    publicKey: identity.publicKeyBase58,
    get config() {
      return config;
    },
    get hardware() {
      return hardware;
    },
    registered: workLoop.registered,
    done,
    metricsUrl: metricsServer?.url,
    stop: async () => {
      workLoop.stop();
      await done;
    },
  };
}
