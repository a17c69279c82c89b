import type { NodeMetrics } from "../../shared/agent-protocol.js";
import type { GpuInfo } from "../../shared/hardware.js";
import type { AgentLog } from "../agent-log.js";
import { errorMessage } from "../agent-log.js";
import type { Clock } from "../clock.js";
import type { GpuReading } from "./gpu-metrics.js";
import type { HostReading } from "./host-metrics.js";
import {
  type ChangeThresholds,
  DEFAULT_THRESHOLDS,
  materialChange,
  type NodeSnapshot,
  toNodeMetrics,
} from "./metrics-change.js";
import { RttTracker } from "./rtt-tracker.js";

export interface NodeMonitorOptions {
  clock: Clock;
  log: AgentLog;
  sampleGpus: () => Promise<GpuReading[]>;
  sampleHost: () => Promise<HostReading>;
  /** One round trip to the control plane outside the held poll (GET /v1/health). */
  probeRtt: () => Promise<number>;
  /** The shared GPUs: only these are reported, labelled with their uuids. */
  gpus: readonly GpuInfo[];
  sampleIntervalMs?: number;
  rttIntervalMs?: number;
  thresholds?: ChangeThresholds;
}

/**
 * Samples the GPUs and the host every few seconds and the round trip every minute, keeps the latest
 * reading for the Prometheus endpoint, and hands the work loop a summary only when it changed
 * materially since the last one the control plane acknowledged.
 */
export class NodeMonitor {
  private latestSnapshot: NodeSnapshot | undefined;
  private sent: NodeSnapshot | undefined;
  private gpus: readonly GpuInfo[];
  private readonly rtt = new RttTracker();
  private readonly stopping = new AbortController();
  private gpuFailureLogged = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly options: NodeMonitorOptions) {
    this.gpus = options.gpus;
  }

  get latest(): NodeSnapshot | undefined {
    return this.latestSnapshot;
  }

  get rttMs(): number | undefined {
    return this.rtt.medianMs;
  }

  /** The shared GPUs changed (config reload): report only the new set from now on. */
  setGpus(gpus: readonly GpuInfo[]): void {
    this.gpus = gpus;
  }

  start(): void {
    const { clock } = this.options;
    const every = (ms: number, task: () => Promise<void>) => async () => {
      while (!this.stopping.signal.aborted) {
        await task();
        await clock.sleep(ms, this.stopping.signal);
      }
    };
    this.loops = [
      every(this.options.sampleIntervalMs ?? 5_000, () => this.sample())(),
      every(this.options.rttIntervalMs ?? 60_000, () => this.probe())(),
    ];
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.loops);
  }

  /** The summary to send with the next poll, or undefined when nothing changed materially. */
  pending(): { metrics: NodeMetrics; sent(): void } | undefined {
    const snapshot = this.latestSnapshot;
    if (snapshot === undefined) return undefined;
    if (materialChange(this.sent, snapshot, this.options.thresholds ?? DEFAULT_THRESHOLDS) === undefined)
      return undefined;
    return { metrics: toNodeMetrics(snapshot), sent: () => this.markSent(snapshot) };
  }

  /** The poll that carried `snapshot` was answered: later changes are measured from it. */
  markSent(snapshot: NodeSnapshot): void {
    this.sent = snapshot;
  }

  async sample(): Promise<void> {
    const { log } = this.options;
    const host = await this.options.sampleHost().catch((error: unknown) => {
      log.warn(`could not sample host metrics: ${errorMessage(error)}`);
      return undefined;
    });
    if (host === undefined) return;
    let readings: GpuReading[] = [];
    if (this.gpus.length > 0) {
      try {
        readings = await this.options.sampleGpus();
        this.gpuFailureLogged = false;
      } catch (error) {
        // Once per outage: a driver that stopped answering is worth one line, not one every 5 s.
        if (!this.gpuFailureLogged) log.warn(`could not sample GPU metrics: ${errorMessage(error)}`);
        this.gpuFailureLogged = true;
      }
    }
    const gpus = this.gpus.flatMap((gpu) => {
      const reading = readings.find((entry) => entry.index === gpu.index);
      return reading === undefined ? [] : [{ ...reading, uuid: gpu.uuid, vramMib: gpu.vramMib }];
    });
    this.latestSnapshot = { at: this.options.clock.now(), gpus, host };
  }

  private async probe(): Promise<void> {
    try {
      this.rtt.add(await this.options.probeRtt());
    } catch {
      // An unreachable control plane shows in the poll's own errors; the median keeps its last value.
    }
  }
}
