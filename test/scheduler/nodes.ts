import { type Demand, type SchedulerNode, WHOLE_GPU_MILLI } from "../../src/durable/scheduler/index.js";
import { gpuModelById } from "../../src/shared/gpu-catalog.js";

/** Builders for scheduler inputs: plain values, so each test states only what it is about. */

export interface NodeOptions extends Partial<Omit<SchedulerNode, "gpus">> {
  model?: string;
  gpuCount?: number;
  computeCapability?: string;
}

export function gpuNode(id: string, options: NodeOptions = {}): SchedulerNode {
  const { model = "RTX-4090", gpuCount = 1, computeCapability = "8.9", ...rest } = options;
  const vramGb = gpuModelById(model)?.vramGb ?? 16;
  return {
    id,
    region: "eu-west",
    gpus: Array.from({ length: gpuCount }, (_, index) => ({
      uuid: `${id}-gpu${index}`,
      model,
      vramMib: vramGb * 1024,
      computeCapability,
    })),
    cpuMilli: 32_000,
    memoryMib: 128 * 1024,
    driverVersion: "550.54.14",
    cudaVersion: "12.4",
    pricePerGpuHourMicros: 1_000_000,
    labels: {},
    reputation: 0.9,
    schedulable: true,
    ...rest,
  };
}

export function demand(
  overrides: Partial<Omit<Demand, "constraints">> & { constraints?: Demand["constraints"] } = {},
): Demand {
  return {
    gpus: 1,
    gpuMilli: WHOLE_GPU_MILLI,
    cpuMilli: 1000,
    memoryMib: 1024,
    nodes: 1,
    strategy: "balanced",
    constraints: {},
    ...overrides,
  };
}

/** A clock the test moves by hand. */
export function fakeClock(start = 1_700_000_000_000): { now(): number; advance(ms: number): void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}
