import type { GpuInfo, HardwareReport } from "../shared/hardware.js";
import { type AgentConfig, ConfigError } from "./agent-config.js";
import type { AgentLog } from "./agent-log.js";
import { ShareError, sharedHardware } from "./policy/hardware-share.js";

/** The hardware the config shares, or a ConfigError that names the GPU it could not find. */
export function shareOf(host: HardwareReport, config: AgentConfig): HardwareReport {
  try {
    return sharedHardware(host, config.gpus ?? "all", config.limits ?? {});
  } catch (error) {
    if (error instanceof ShareError) throw new ConfigError(`invalid agent config: ${error.message}`);
    throw error;
  }
}

/** What was found on the host and what of it the node shares, for the provider to check. */
export function logHardware(
  log: AgentLog,
  detected: GpuInfo[],
  shared: HardwareReport,
  note: string | undefined,
): void {
  if (detected.length === 0) {
    log.info(`no NVIDIA GPU found: registering as a CPU node (${note ?? "none reported"})`);
  }
  for (const gpu of detected) {
    const sharing = shared.gpus.some((entry) => entry.uuid === gpu.uuid) ? "" : " (not shared)";
    log.info(
      `GPU ${gpu.index}: ${gpu.name}${gpu.model ? ` [${gpu.model}]` : " [not in the catalogue]"}, ${gpu.vramMib} MiB, ${gpu.uuid}${sharing}`,
    );
  }
  log.info(`sharing ${shared.cpus} CPUs, ${shared.memoryMib} MiB memory, ${shared.diskFreeMib} MiB disk`);
}
