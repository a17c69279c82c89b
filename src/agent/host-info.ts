import { statfs } from "node:fs/promises";
import { arch, availableParallelism, release, totalmem, type } from "node:os";
import type { GpuInfo, HardwareReport } from "../shared/hardware.js";

/** What this host offers besides GPUs; disk is measured where the agent keeps its data. */
export async function hostHardware(dataDir: string, gpus: GpuInfo[]): Promise<HardwareReport> {
  const disk = await statfs(dataDir);
  return {
    gpus,
    cpus: Math.max(1, availableParallelism()),
    memoryMib: Math.floor(totalmem() / (1024 * 1024)),
    diskFreeMib: Math.floor((disk.bavail * disk.bsize) / (1024 * 1024)),
    os: `${type()} ${release()}`.slice(0, 128),
    arch: arch(),
  };
}
