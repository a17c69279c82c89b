import type { NodeMetrics } from "../../shared/agent-protocol.js";
import type { GpuReading } from "./gpu-metrics.js";
import type { HostReading } from "./host-metrics.js";

/** One GPU's reading with what the agent knows of it from detection. */
export interface GpuSnapshot extends GpuReading {
  uuid: string;
  vramMib: number;
}

export interface NodeSnapshot {
  at: number;
  gpus: GpuSnapshot[];
  host: HostReading;
}

/** What counts as a material change; the defaults keep a steady node's heartbeat small. */
export interface ChangeThresholds {
  utilizationPoints: number;
  temperatureC: number;
  /** Fraction of the GPU's VRAM (or of the host's memory, or of the free disk). */
  memoryFraction: number;
  cpuPoints: number;
  /** Send at least this often, changed or not, so the control plane's view never goes stale. */
  maxAgeMs: number;
}

export const DEFAULT_THRESHOLDS: ChangeThresholds = {
  utilizationPoints: 10,
  temperatureC: 3,
  memoryFraction: 0.05,
  cpuPoints: 10,
  maxAgeMs: 5 * 60_000,
};

function movedBy(a: number | undefined, b: number | undefined, limit: number): boolean {
  if (a === undefined || b === undefined) return a !== b;
  return Math.abs(a - b) >= limit;
}

/**
 * Why `next` is worth sending given what was last sent, or undefined when it is not. Errors are
 * always material: every rise in uncorrected ECC errors, and any change of the hardware-slowdown flag.
 */
export function materialChange(
  sent: NodeSnapshot | undefined,
  next: NodeSnapshot,
  thresholds: ChangeThresholds = DEFAULT_THRESHOLDS,
): string | undefined {
  if (sent === undefined) return "first sample";
  if (next.at - sent.at >= thresholds.maxAgeMs) return "periodic refresh";
  if (sent.gpus.map((gpu) => gpu.uuid).join() !== next.gpus.map((gpu) => gpu.uuid).join())
    return "GPU set changed";
  for (const gpu of next.gpus) {
    const before = sent.gpus.find((entry) => entry.uuid === gpu.uuid);
    if (before === undefined) return "GPU set changed";
    const name = `GPU ${gpu.index}`;
    if ((gpu.eccUncorrected ?? 0) > (before.eccUncorrected ?? 0))
      return `${name}: new uncorrected ECC errors`;
    if (gpu.hwSlowdown !== before.hwSlowdown)
      return `${name}: hardware slowdown ${gpu.hwSlowdown ? "on" : "off"}`;
    if (movedBy(before.utilizationPct, gpu.utilizationPct, thresholds.utilizationPoints))
      return `${name}: utilization`;
    if (movedBy(before.temperatureC, gpu.temperatureC, thresholds.temperatureC))
      return `${name}: temperature`;
    const memoryStep = gpu.vramMib > 0 ? gpu.vramMib * thresholds.memoryFraction : 1;
    if (movedBy(before.memoryUsedMib, gpu.memoryUsedMib, memoryStep)) return `${name}: memory`;
  }
  if (movedBy(sent.host.cpuPct, next.host.cpuPct, thresholds.cpuPoints)) return "host CPU";
  if (
    movedBy(
      sent.host.memoryUsedMib,
      next.host.memoryUsedMib,
      next.host.memoryTotalMib * thresholds.memoryFraction,
    )
  )
    return "host memory";
  if (
    movedBy(
      sent.host.diskFreeMib,
      next.host.diskFreeMib,
      Math.max(1, sent.host.diskFreeMib * thresholds.memoryFraction),
    )
  )
    return "host disk";
  return undefined;
}

function clamp(value: number | undefined, min: number, max: number): number {
  return Math.min(max, Math.max(min, value ?? 0));
}

/**
 * The wire form. What a part does not report (undefined above, so it never triggered a change by
 * itself) is left out, never sent as 0; only the memory in use is required and falls back to 0.
 */
export function toNodeMetrics(snapshot: NodeSnapshot): NodeMetrics {
  return {
    at: Math.round(snapshot.at),
    gpus: snapshot.gpus.slice(0, 64).map((gpu) => ({
      index: clamp(gpu.index, 0, 63),
      ...(gpu.utilizationPct !== undefined ? { utilizationPct: clamp(gpu.utilizationPct, 0, 100) } : {}),
      memoryUsedMib: Math.round(clamp(gpu.memoryUsedMib, 0, Number.MAX_SAFE_INTEGER)),
      ...(gpu.temperatureC !== undefined ? { temperatureC: clamp(gpu.temperatureC, -50, 200) } : {}),
      ...(gpu.powerW !== undefined ? { powerW: clamp(gpu.powerW, 0, 5000) } : {}),
      ...(gpu.smClockMhz !== undefined ? { smClockMhz: Math.round(clamp(gpu.smClockMhz, 0, 10_000)) } : {}),
      ...(gpu.eccUncorrected !== undefined ? { eccUncorrected: Math.max(0, gpu.eccUncorrected) } : {}),
      ...(gpu.hwSlowdown !== undefined ? { hwSlowdown: gpu.hwSlowdown } : {}),
    })),
    host: {
      cpuPct: clamp(snapshot.host.cpuPct, 0, 100),
      memoryUsedMib: Math.max(0, snapshot.host.memoryUsedMib),
      diskFreeMib: Math.max(0, snapshot.host.diskFreeMib),
    },
  };
}
