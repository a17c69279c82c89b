import type { GpuSample, NodeMetrics } from "../shared/agent-protocol.js";
import type { GpuTier } from "../shared/gpu-catalog.js";

/**
 * Slowdown temperatures to assume where the driver does not report one. GeForce boards start to
 * throttle in the low 80s; passively cooled datacenter and workstation parts are specified a
 * little higher but 85 °C is already a cooling problem worth telling the provider about.
 */
export const DEFAULT_HOT_C: Record<GpuTier, number> = { consumer: 83, professional: 85, datacenter: 85 };

/** Scoring multipliers: a hot GPU throttles (slower jobs); GPU errors risk the job itself. */
const HOT_PENALTY = 0.5;
const ERROR_PENALTY = 0.25;

export interface NodeMetricsOptions {
  /** Samples kept per node when the region is small. */
  perNode?: number;
  /**
   * GPU samples kept across the region. A Durable Object has 128 MB; 10,000 8-GPU nodes with 120
   * samples each would need gigabytes, so a large region keeps fewer samples per node instead.
   */
  totalGpuSamples?: number;
  /** Samples kept per node however large the region. */
  minPerNode?: number;
}

export interface NodeHealth {
  /** A GPU is at or above its slowdown temperature (or the tier's default), or reports a hardware slowdown. */
  hot: boolean;
  /** Uncorrected ECC errors are reported, or XID errors increased over the kept samples. */
  gpuErrors: boolean;
  /** Multiply a placement score by this: 1 when healthy. */
  penalty: number;
  /** What to tell the provider, one line each. */
  notices: string[];
}

const HEALTHY: NodeHealth = { hot: false, gpuErrors: false, penalty: 1, notices: [] };

/**
 * Recent metrics per node, in memory only: they arrive with polls (only when they changed
 * materially), serve `GET /v1/nodes/:id/metrics` and health, and are not worth a storage write;
 * after a restart the next polls refill them.
 */
export class NodeMetricsStore {
  private readonly rings = new Map<string, NodeMetrics[]>();
  private readonly gpuCounts = new Map<string, number>();
  private totalGpus = 0;
  private readonly perNode: number;
  private readonly totalGpuSamples: number;
  private readonly minPerNode: number;

  constructor(options: NodeMetricsOptions = {}) {
    this.perNode = options.perNode ?? 120;
    this.totalGpuSamples = options.totalGpuSamples ?? 250_000;
    this.minPerNode = options.minPerNode ?? 10;
  }

  /** The ring length every node gets now, from the region's GPU count. */
  capacity(): number {
    const share = Math.floor(this.totalGpuSamples / Math.max(1, this.totalGpus));
    return Math.max(this.minPerNode, Math.min(this.perNode, share));
  }

  /** Adds a sample, dropping the oldest beyond the capacity. Samples out of order are ignored. */
  add(nodeId: string, metrics: NodeMetrics): void {
    const ring = this.rings.get(nodeId) ?? [];
    const last = ring.at(-1);
    if (last && metrics.at <= last.at) return;
    ring.push(metrics);
    this.rings.set(nodeId, ring);
    const gpus = Math.max(1, metrics.gpus.length);
    this.totalGpus += gpus - (this.gpuCounts.get(nodeId) ?? 0);
    this.gpuCounts.set(nodeId, gpus);
    const keep = this.capacity();
    if (ring.length > keep) ring.splice(0, ring.length - keep);
  }

  /** The kept samples, oldest first. */
  series(nodeId: string): readonly NodeMetrics[] {
    return this.rings.get(nodeId) ?? [];
  }

  latest(nodeId: string): NodeMetrics | undefined {
    return this.rings.get(nodeId)?.at(-1);
  }

  /**
   * Whether the node runs hot or reports GPU errors, judged on the latest sample (and, for XID
   * counters, growth across the kept ones). `tierOf` gives a GPU's tier for the default limit.
   */
  health(nodeId: string, tierOf: (gpuIndex: number) => GpuTier | undefined = () => undefined): NodeHealth {
    const ring = this.rings.get(nodeId);
    const latest = ring?.at(-1);
    if (!ring || !latest) return HEALTHY;
    const first = ring[0];
    const notices: string[] = [];
    let hot = false;
    let gpuErrors = false;
    for (const gpu of latest.gpus) {
      const limit = gpu.slowdownTempC ?? DEFAULT_HOT_C[tierOf(gpu.index) ?? "datacenter"];
      // A temperature the part does not report ("[N/A]") is simply not judged.
      if (gpu.temperatureC !== undefined && gpu.temperatureC >= limit) {
        hot = true;
        notices.push(
          `GPU ${gpu.index} is at ${gpu.temperatureC} °C, at or above its ${limit} °C limit: check its cooling; it gets fewer jobs meanwhile`,
        );
      } else if (gpu.hwSlowdown === true) {
        // The hardware itself throttles the clocks (over temperature, power brake): as hot, whatever it reads.
        hot = true;
        notices.push(
          `GPU ${gpu.index} reports a hardware slowdown (its clocks are held down: overheating or a power brake): check its cooling and power; it gets fewer jobs meanwhile`,
        );
      }
      if ((gpu.eccUncorrected ?? 0) > 0) {
        gpuErrors = true;
        notices.push(
          `GPU ${gpu.index} reports ${gpu.eccUncorrected} uncorrected ECC errors: reset the GPU or reboot; it gets fewer jobs meanwhile`,
        );
      }
      const xidGrowth = (gpu.xidErrors ?? 0) - (xidOf(first?.gpus, gpu.index) ?? 0);
      if (xidGrowth > 0) {
        gpuErrors = true;
        notices.push(
          `GPU ${gpu.index} raised ${xidGrowth} XID errors recently: see the driver log (dmesg); it gets fewer jobs meanwhile`,
        );
      }
    }
    const penalty = (hot ? HOT_PENALTY : 1) * (gpuErrors ? ERROR_PENALTY : 1);
    return { hot, gpuErrors, penalty, notices };
  }

  /** Drops a node's samples (it left the region). */
  forget(nodeId: string): void {
    this.rings.delete(nodeId);
    this.totalGpus -= this.gpuCounts.get(nodeId) ?? 0;
    this.gpuCounts.delete(nodeId);
  }
}

/** A GPU's XID counter in the oldest kept sample; the agent counts from its own start. */
function xidOf(gpus: readonly GpuSample[] | undefined, index: number): number | undefined {
  return gpus?.find((gpu) => gpu.index === index)?.xidErrors;
}
