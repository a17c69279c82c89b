import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { type ConfigOverrides, loadConfig } from "../agent-config.js";
import { DockerRuntime } from "../docker-runtime.js";
import { detectGpus, nvidiaSmiPath } from "../gpu-detect.js";
import { hostHardware } from "../host-info.js";
import { loadOrCreateIdentity } from "../identity.js";
import { ProviderApi } from "../provider-api.js";
import { benchImage } from "../verification/docker-launcher.js";
import { formatDoctor, runDoctor } from "./doctor.js";
import { probeGpuContainer } from "./gpu-container-probe.js";
import { providerStatus } from "./status.js";
import { readToolkitVersion } from "./toolkit-check.js";

export interface CommandContext {
  dataDir: string;
  overrides: ConfigOverrides;
  print: (text: string) => void;
}

/** `meridian-agent doctor`; resolves with whether every check passed (warnings allowed). */
export async function doctorCommand(context: CommandContext): Promise<boolean> {
  const dataDir = resolve(context.dataDir);
  const config = await loadConfig(dataDir, context.overrides);
  const runtime = config.runtime ?? "docker";
  const docker = new DockerRuntime(config.dockerSocket ? { socketPath: config.dockerSocket } : {});
  const api = new ProviderApi({ baseUrl: config.controlPlane });
  const results = await runDoctor({
    dataDir,
    runtime,
    detectGpus: () => detectGpus(nvidiaSmiPath()),
    pingDocker: () => docker.ping(),
    dockerLocation: docker.location,
    probeGpuContainer: (uuid) =>
      probeGpuContainer(docker.docker, config.benchmarkImage ?? benchImage(), uuid),
    health: () => api.health(),
    toolkitVersion: readToolkitVersion,
  });
  context.print(formatDoctor(results));
  const failed = results.filter((result) => result.status === "fail").length;
  const warned = results.filter((result) => result.status === "warn").length;
  const warnings = warned === 0 ? "" : `; ${warned} warning${warned === 1 ? "" : "s"} above worth reading`;
  context.print(
    failed === 0
      ? `\n${warned === 0 ? "all checks passed" : "no problems that stop this host from serving"}${warnings}`
      : `\n${failed} problem(s) to fix before this host can serve${warnings}`,
  );
  return failed === 0;
}

/** `meridian-agent init`: identity, config, a look at the hardware, then the doctor. */
export async function initCommand(context: CommandContext): Promise<boolean> {
  const dataDir = resolve(context.dataDir);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const identity = await loadOrCreateIdentity(dataDir);
  const config = await loadConfig(dataDir, context.overrides);
  const detection = await detectGpus(nvidiaSmiPath());
  const hardware = await hostHardware(dataDir, detection.gpus);
  context.print(`node key     ${identity.publicKeyBase58} (${identity.path})`);
  context.print(`config       ${dataDir}/config.json (control plane ${config.controlPlane})`);
  for (const gpu of detection.gpus) {
    context.print(
      `GPU ${gpu.index}        ${gpu.name}${gpu.model ? ` [${gpu.model}]` : " [not in the catalogue]"}, ${gpu.vramMib} MiB`,
    );
  }
  if (detection.gpus.length === 0)
    context.print(`GPUs         none (${detection.note ?? "nvidia-smi reported none"})`);
  context.print(
    `host         ${hardware.cpus} CPUs, ${hardware.memoryMib} MiB memory, ${hardware.diskFreeMib} MiB free disk`,
  );
  context.print(
    "\nhost policy: edit config.json to set gpus, limits, windows, timeZone, images, pricePerGpuHour " +
      '("auto" with priceFloorPerGpuHour), pricePerVcpuHour ("auto" with priceFloorPerVcpuHour), labels, payoutWallet, metricsPort; see README "Providers".\n',
  );
  return doctorCommand(context);
}

export async function statusCommand(context: CommandContext): Promise<void> {
  const dataDir = resolve(context.dataDir);
  const identity = await loadOrCreateIdentity(dataDir);
  const config = await loadConfig(dataDir, context.overrides);
  const api = new ProviderApi({
    baseUrl: config.controlPlane,
    ...(config.ownerApiKey ? { ownerApiKey: config.ownerApiKey } : {}),
  });
  context.print(
    await providerStatus({ dataDir, config, publicKey: identity.publicKeyBase58, api, now: Date.now() }),
  );
}
