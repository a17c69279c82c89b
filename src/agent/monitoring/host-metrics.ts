import { statfs } from "node:fs/promises";
import { cpus, freemem, totalmem } from "node:os";

export interface HostReading {
  cpuPct: number;
  memoryUsedMib: number;
  memoryTotalMib: number;
  diskFreeMib: number;
}

interface CpuTimes {
  idle: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const { user, nice, sys, irq } = cpu.times;
    idle += cpu.times.idle;
    total += user + nice + sys + irq + cpu.times.idle;
  }
  return { idle, total };
}

/** CPU use is a rate, so each reading compares against the one before (the first against start-up). */
export class HostSampler {
  private last: CpuTimes = cpuTimes();

  constructor(private readonly diskPath: string) {}

  async sample(): Promise<HostReading> {
    const now = cpuTimes();
    const total = now.total - this.last.total;
    const busy = total - (now.idle - this.last.idle);
    this.last = now;
    const disk = await statfs(this.diskPath);
    const mib = 1024 * 1024;
    return {
      cpuPct: total > 0 ? Math.min(100, Math.max(0, (busy / total) * 100)) : 0,
      memoryUsedMib: Math.floor((totalmem() - freemem()) / mib),
      memoryTotalMib: Math.floor(totalmem() / mib),
      diskFreeMib: Math.floor((disk.bavail * disk.bsize) / mib),
    };
  }
}
