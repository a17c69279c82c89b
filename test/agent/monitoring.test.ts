import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseGpuQueryCsv } from "../../src/agent/monitoring/gpu-metrics.js";
import {
  DEFAULT_THRESHOLDS,
  materialChange,
  type NodeSnapshot,
  toNodeMetrics,
} from "../../src/agent/monitoring/metrics-change.js";
import { renderPrometheus } from "../../src/agent/monitoring/prometheus.js";
import { RttTracker } from "../../src/agent/monitoring/rtt-tracker.js";
import { NodeMetrics } from "../../src/shared/agent-protocol.js";

const FIXTURE = join(import.meta.dirname, "../fixtures/nvidia-smi/query-gpu-metrics.csv");

async function fixtureSnapshot(at = 1_000_000): Promise<NodeSnapshot> {
  const readings = parseGpuQueryCsv(await readFile(FIXTURE, "utf8"));
  return {
    at,
    gpus: readings.map((reading) => ({ ...reading, uuid: `GPU-${reading.index}000`, vramMib: 81_559 })),
    host: { cpuPct: 20, memoryUsedMib: 10_000, memoryTotalMib: 100_000, diskFreeMib: 50_000 },
  };
}

describe("nvidia-smi metrics query", () => {
  it("parses each GPU, with [N/A] as unknown rather than zero", async () => {
    const readings = parseGpuQueryCsv(await readFile(FIXTURE, "utf8"));
    expect(readings).toEqual([
      {
        index: 0,
        utilizationPct: 87,
        memoryUsedMib: 61_234,
        temperatureC: 71,
        powerW: 612.45,
        smClockMhz: 1980,
        eccUncorrected: 0,
        hwSlowdown: false,
      },
      {
        index: 1,
        utilizationPct: undefined,
        memoryUsedMib: 1024,
        temperatureC: 45,
        powerW: undefined,
        smClockMhz: 1410,
        eccUncorrected: undefined,
        hwSlowdown: undefined,
      },
    ]);
  });

  it("skips lines that are not GPU rows and survives short rows", () => {
    expect(parseGpuQueryCsv("WARNING: infoROM is corrupted\n\n3, 5\n")).toEqual([
      expect.objectContaining({ index: 3, utilizationPct: 5, memoryUsedMib: undefined }),
    ]);
  });

  it("turns a snapshot into a valid protocol summary", async () => {
    const metrics = toNodeMetrics(await fixtureSnapshot());
    expect(NodeMetrics.safeParse(metrics).success).toBe(true);
    // What the part reports as [N/A] is left out, not sent as 0.
    expect(metrics.gpus[1]).toEqual({
      index: 1,
      memoryUsedMib: 1024,
      temperatureC: 45,
      smClockMhz: 1410,
    });
    expect(metrics.gpus[0]).toMatchObject({ utilizationPct: 87, powerW: 612.45, hwSlowdown: false });
  });
});

describe("material change", () => {
  it("sends the first sample, then only what moved past a threshold", async () => {
    const sent = await fixtureSnapshot();
    expect(materialChange(undefined, sent)).toBe("first sample");
    const same = await fixtureSnapshot(sent.at + 5_000);
    expect(materialChange(sent, same)).toBeUndefined();

    const tweak = async (change: (snapshot: NodeSnapshot) => unknown) => {
      const next = await fixtureSnapshot(sent.at + 5_000);
      change(next);
      return materialChange(sent, next);
    };
    const gpu0 = (snapshot: NodeSnapshot) => {
      const gpu = snapshot.gpus[0];
      if (gpu === undefined) throw new Error("fixture has GPU 0");
      return gpu;
    };
    expect(await tweak((s) => Object.assign(gpu0(s), { utilizationPct: 78 }))).toBeUndefined();
    expect(await tweak((s) => Object.assign(gpu0(s), { utilizationPct: 77 }))).toBe("GPU 0: utilization");
    expect(await tweak((s) => Object.assign(gpu0(s), { temperatureC: 73 }))).toBeUndefined();
    expect(await tweak((s) => Object.assign(gpu0(s), { temperatureC: 74 }))).toBe("GPU 0: temperature");
    expect(await tweak((s) => Object.assign(gpu0(s), { memoryUsedMib: 61_234 + 4_000 }))).toBeUndefined();
    expect(await tweak((s) => Object.assign(gpu0(s), { memoryUsedMib: 61_234 + 4_100 }))).toBe(
      "GPU 0: memory",
    );
    expect(await tweak((s) => Object.assign(gpu0(s), { eccUncorrected: 1 }))).toBe(
      "GPU 0: new uncorrected ECC errors",
    );
    expect(await tweak((s) => Object.assign(gpu0(s), { hwSlowdown: true }))).toBe(
      "GPU 0: hardware slowdown on",
    );
    expect(await tweak((s) => Object.assign(s.host, { cpuPct: 35 }))).toBe("host CPU");
    expect(await tweak((s) => s.gpus.pop())).toBe("GPU set changed");
  });

  it("refreshes after the maximum age even when nothing moved", async () => {
    const sent = await fixtureSnapshot();
    expect(materialChange(sent, await fixtureSnapshot(sent.at + DEFAULT_THRESHOLDS.maxAgeMs))).toBe(
      "periodic refresh",
    );
  });
});

describe("Prometheus exposition", () => {
  it("renders text format 0.0.4 with conventional names, units and gpu/uuid labels", async () => {
    const text = renderPrometheus(await fixtureSnapshot(), {
      jobsRunning: 2,
      acceptingWork: true,
      rttMs: 42,
    });
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.trimEnd().split("\n");
    expect(lines).toContain("# TYPE meridian_gpu_utilization_ratio gauge");
    expect(lines).toContain('meridian_gpu_utilization_ratio{gpu="0",uuid="GPU-0000"} 0.87');
    expect(lines).toContain('meridian_gpu_temperature_celsius{gpu="1",uuid="GPU-1000"} 45');
    expect(lines).toContain(
      `meridian_gpu_memory_used_bytes{gpu="0",uuid="GPU-0000"} ${61_234 * 1024 * 1024}`,
    );
    expect(lines).toContain('meridian_gpu_power_watts{gpu="0",uuid="GPU-0000"} 612.45');
    expect(lines).toContain("# TYPE meridian_gpu_ecc_uncorrected_errors_total counter");
    expect(lines).toContain("meridian_jobs_running 2");
    expect(lines).toContain("meridian_control_plane_rtt_seconds 0.042");
    // Unknown readings are left out, not exported as zero.
    expect(lines.some((line) => line.startsWith('meridian_gpu_power_watts{gpu="1"'))).toBe(false);
    // Every sample line is `name{labels} value`, and each family is introduced by HELP then TYPE.
    for (const line of lines.filter((entry) => !entry.startsWith("#"))) {
      expect(line).toMatch(
        /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.e+]+$/,
      );
    }
    for (const [index, line] of lines.entries()) {
      if (line.startsWith("# TYPE")) expect(lines[index - 1]).toMatch(/^# HELP /);
    }
  });

  it("escapes label values", async () => {
    const snapshot = await fixtureSnapshot();
    const gpu = snapshot.gpus[0];
    if (gpu) gpu.uuid = 'odd"\\uuid\n';
    const text = renderPrometheus(snapshot, { jobsRunning: 0, acceptingWork: false, rttMs: undefined });
    expect(text).toContain('uuid="odd\\"\\\\uuid\\n"');
    expect(text).not.toContain("meridian_control_plane_rtt_seconds");
  });
});

describe("round-trip median", () => {
  it("keeps the median of the last five probes", () => {
    const rtt = new RttTracker();
    expect(rtt.medianMs).toBeUndefined();
    for (const sample of [10, 500, 12, 11]) rtt.add(sample);
    expect(rtt.medianMs).toBe(12);
    for (const sample of [20, 21, 22]) rtt.add(sample);
    expect(rtt.medianMs).toBe(20);
  });
});
