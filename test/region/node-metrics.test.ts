import { describe, expect, it } from "vitest";
import { NodeMetricsStore } from "../../src/durable/node-metrics.js";
import type { GpuSample, NodeMetrics } from "../../src/shared/agent-protocol.js";

const T0 = 1_800_000_000_000;
const NODE = "node_0123456789abcdefghjkmnpqrs";

function gpu(overrides: Partial<GpuSample> = {}): GpuSample {
  return {
    index: 0,
    utilizationPct: 50,
    memoryUsedMib: 1000,
    temperatureC: 60,
    powerW: 300,
    smClockMhz: 1800,
    ...overrides,
  };
}

function sample(at: number, gpus: GpuSample[] = [gpu()]): NodeMetrics {
  return { at, gpus, host: { cpuPct: 10, memoryUsedMib: 2048, diskFreeMib: 100_000 } };
}

describe("the metrics ring", () => {
  it("keeps the last 120 samples per node, oldest first", () => {
    const store = new NodeMetricsStore();
    for (let i = 0; i < 300; i++) store.add(NODE, sample(T0 + i * 5_000));
    const series = store.series(NODE);
    expect(series).toHaveLength(120);
    expect(series[0]?.at).toBe(T0 + 180 * 5_000);
    expect(store.latest(NODE)?.at).toBe(T0 + 299 * 5_000);
    expect(store.series("node_unknown")).toEqual([]);
  });

  it("ignores a sample older than the last one", () => {
    const store = new NodeMetricsStore();
    store.add(NODE, sample(T0 + 10));
    store.add(NODE, sample(T0 + 5));
    expect(store.series(NODE).map((m) => m.at)).toEqual([T0 + 10]);
  });

  it("keeps fewer samples per node in a large region, bounding memory", () => {
    const store = new NodeMetricsStore({ totalGpuSamples: 1_000 });
    const eight = Array.from({ length: 8 }, (_, index) => gpu({ index }));
    for (let n = 0; n < 10; n++) {
      for (let i = 0; i < 50; i++) store.add(`node_${n}`, sample(T0 + i, eight));
    }
    // 80 GPUs share 1,000 GPU samples: 12 samples each.
    expect(store.capacity()).toBe(12);
    expect(store.series("node_9")).toHaveLength(12);
    for (let n = 0; n < 10; n++) store.forget(`node_${n}`);
    expect(store.capacity()).toBe(120);
  });
});

describe("node health", () => {
  it("is healthy without samples or when cool and error-free", () => {
    const store = new NodeMetricsStore();
    expect(store.health(NODE)).toEqual({ hot: false, gpuErrors: false, penalty: 1, notices: [] });
    store.add(NODE, sample(T0, [gpu({ eccUncorrected: 0, xidErrors: 2 })]));
    store.add(NODE, sample(T0 + 1, [gpu({ eccUncorrected: 0, xidErrors: 2 })]));
    expect(store.health(NODE).penalty).toBe(1);
  });

  it("flags a GPU at its driver's slowdown temperature, or the tier's default", () => {
    const store = new NodeMetricsStore();
    store.add(NODE, sample(T0, [gpu({ temperatureC: 80, slowdownTempC: 80 })]));
    const health = store.health(NODE);
    expect(health.hot).toBe(true);
    expect(health.penalty).toBe(0.5);
    expect(health.notices[0]).toMatch(/GPU 0 is at 80 °C/);

    const other = new NodeMetricsStore();
    other.add(NODE, sample(T0, [gpu({ temperatureC: 84 })]));
    expect(other.health(NODE).hot).toBe(false);
    expect(other.health(NODE, () => "consumer").hot).toBe(true);
  });

  it("flags uncorrected ECC errors and a rising XID count, and tells the provider", () => {
    const ecc = new NodeMetricsStore();
    ecc.add(NODE, sample(T0, [gpu({ eccUncorrected: 1 })]));
    expect(ecc.health(NODE)).toMatchObject({ gpuErrors: true, penalty: 0.25 });

    const xid = new NodeMetricsStore();
    xid.add(NODE, sample(T0, [gpu({ xidErrors: 0 })]));
    xid.add(NODE, sample(T0 + 1, [gpu({ xidErrors: 3, temperatureC: 95 })]));
    const health = xid.health(NODE);
    expect(health).toMatchObject({ hot: true, gpuErrors: true, penalty: 0.125 });
    expect(health.notices).toHaveLength(2);
    expect(health.notices[1]).toMatch(/3 XID errors/);
  });
});
