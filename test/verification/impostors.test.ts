import { describe, expect, it } from "vitest";
import { GPU_CATALOG } from "../../src/shared/gpu-catalog.js";
import {
  judgeImpostor,
  memoryPhaseMs,
  modelledGpu,
  reportedVramMib,
  TOP_SERVER_CPU,
} from "../../src/shared/verification/device-model.js";
import { memoryWalkFor } from "../../src/shared/verification/memory-size.js";
import { ENTRIES_FIT_INT8 } from "../../src/shared/verification/seeded-matrix.js";

/**
 * Issue 14 items 3, 4 and 7: impostors that report plausible figures, against the real windows
 * (challenge-size.ts, memory-size.ts) and the real classifier (part-classifier.ts). The devices'
 * timings are modelled (device-model.ts: no GPU here); each liar lies as well as it can (it waits
 * wherever it is faster than the part it claims). The walk itself runs for real in
 * memory-walk.test.ts, which shows a part short of memory must recreate what it lacks.
 */

const worst = (v: ReturnType<typeof judgeImpostor>): number =>
  Math.max(v.compute.late, v.fill.late, v.memory.late);

describe("honest parts", () => {
  it("every catalogue part commits every phase in time, with documented slack, and is listed as itself", () => {
    for (const model of GPU_CATALOG) {
      const verdict = judgeImpostor(modelledGpu(model.id), model.id);
      // Slack (docs/BENCHMARKS.md): compute ≥ 25%, fill ≥ 90% (it proves nothing), walk ≥ 6%.
      expect(verdict.compute.late, model.id).toBeLessThan(0.75);
      expect(verdict.fill.late, model.id).toBeLessThan(0.1);
      expect(verdict.memory.late, model.id).toBeLessThan(0.94);
      expect(verdict.listedAs, model.id).toBe(model.id);
    }
  });

  it("a part reading at 80% of datasheet bandwidth (a slower walk kernel) still makes the walk window", () => {
    for (const model of GPU_CATALOG) {
      const slow = modelledGpu(model.id, { compute: 0.8, bandwidth: 0.8, int: 0.8 });
      expect(judgeImpostor(slow, model.id).memory.late, model.id).toBeLessThan(1);
      expect(judgeImpostor(slow, model.id).listedAs, model.id).toBe(model.id);
    }
  });

  it("a part reading at 75% misses it: the price of telling the top server CPU from an A100-80GB", () => {
    const slow = modelledGpu("A100-80GB", { compute: 0.8, bandwidth: 0.75, int: 0.8 });
    expect(judgeImpostor(slow, "A100-80GB").memory.late).toBeGreaterThan(1);
  });
});

describe("impostors with plausible figures", () => {
  it("an H100-SXM claiming an H200 (same compute, 80 of 141 GB) misses the memory window by > 4×", () => {
    const verdict = judgeImpostor(modelledGpu("H100-SXM"), "H200");
    expect(verdict.compute.late).toBeLessThan(1); // compute alone could not tell them apart
    expect(verdict.memory.residentFraction).toBeLessThan(0.65);
    expect(verdict.memory.late).toBeGreaterThan(4);
    expect(verdict.listedAs).toBeUndefined();
  });

  it("an A100-40GB claiming an A100-80GB misses the memory window by > 5×", () => {
    const verdict = judgeImpostor(modelledGpu("A100-40GB"), "A100-80GB");
    expect(verdict.compute.late).toBeLessThan(1);
    expect(verdict.memory.late).toBeGreaterThan(5);
    expect(verdict.caught).toBe(true);
  });

  it("an H100-PCIe claiming an SXM misses the memory window (2.0 against 3.35 TB/s)", () => {
    const verdict = judgeImpostor(modelledGpu("H100-PCIE"), "H100-SXM");
    expect(verdict.memory.late).toBeGreaterThan(1.15);
    expect(verdict.listedAs).not.toBe("H100-SXM");
  });

  it("an SXM claiming a PCIe (underselling) is listed and priced as the SXM it is", () => {
    expect(judgeImpostor(modelledGpu("H100-SXM"), "H100-PCIE", { mimic: false }).listedAs).toBe("H100-SXM");
  });

  it("an H200 claiming an H100-SXM is listed as an H100-SXM: only the claimed VRAM is proven", () => {
    expect(judgeImpostor(modelledGpu("H200"), "H100-SXM").listedAs).toBe("H100-SXM");
  });

  it("other neighbours are caught: previous generation, smaller consumer part, less memory", () => {
    for (const [device, claims] of [
      ["A100-80GB", "H100-SXM"],
      ["H100-SXM", "B200"],
      ["RTX-4090", "RTX-5090"],
      ["L40S", "A100-80GB"],
      ["RTX-3090", "A40"],
      ["MI250", "MI300X"],
    ] as const) {
      const verdict = judgeImpostor(modelledGpu(device), claims);
      expect(verdict.caught, `${device} as ${claims}`).toBe(true);
      expect(verdict.listedAs, `${device} as ${claims}`).not.toBe(claims);
    }
  });
});

/**
 * Item 4 with a modelled top server CPU (2× Xeon 6980P, AMX). Entries are 9 bits wide, so its
 * int8 AMX (twice its bf16 rate) cannot hold them: it multiplies at 367 TFLOP/s bf16 and reads at
 * ~1.44 TB/s. The walk is timed apart from the fill (its own seed and window), so its fast
 * AVX-512 fill buys no walk time. That excludes it from every part it does not out-run in both
 * the products and the walk's reads. A deadline bounds only the slow, and this CPU out-computes
 * and out-reads the rest (an RTX 4090 lists 165 TFLOP/s bf16 and 1 TB/s), so no timed challenge,
 * whatever its number format, range or size, can exclude it there: those parts are named here so
 * the limit stays visible (docs/BENCHMARKS.md).
 */
const CPU_EXCLUDED = ["A100-80GB", "H100-PCIE", "H100-SXM", "H200", "B200", "MI250", "MI300X"];

describe("a modelled top server CPU", () => {
  it("cannot use int8: the entries need 9 bits", () => {
    expect(ENTRIES_FIT_INT8).toBe(false);
  });

  it("misses a window by at least 5% for every part it does not out-run, for every catalogue part", () => {
    const margins = Object.fromEntries(
      GPU_CATALOG.map((m) => [m.id, worst(judgeImpostor(TOP_SERVER_CPU, m.id))]),
    );
    for (const id of CPU_EXCLUDED) {
      expect(margins[id], id).toBeGreaterThan(1.05);
      expect(judgeImpostor(TOP_SERVER_CPU, id).listedAs, id).toBeUndefined();
    }
    // The A100-80GB is caught by the walk alone (its fill, 4.2× faster than the A100's, no
    // longer shares the walk's window): 1.058× late, where one shared window passed it.
    expect(judgeImpostor(TOP_SERVER_CPU, "A100-80GB").memory.late).toBeGreaterThan(1.05);
    // The rest it passes: it is faster than them in every dimension a deadline can measure.
    const passes = GPU_CATALOG.map((m) => m.id).filter((id) => !CPU_EXCLUDED.includes(id));
    for (const id of passes) {
      expect(margins[id], id).toBeLessThanOrEqual(1);
      expect(judgeImpostor(TOP_SERVER_CPU, id).listedAs, id).toBe(id);
    }
    expect(passes).toHaveLength(12);
  });

  /**
   * Why speed cannot separate the 12 parts it passes (issue 14 item 4, stated precisely). A
   * deadline bounds only the slow, so a device at least as fast as the honest part (modelled at
   * 80% of datasheet compute, 85% of datasheet bandwidth on random 64-byte reads) in every timed
   * phase passes any window that honest part passes. For each part the test shows which case holds.
   */
  it("passes the 12 only where it is as fast as the honest part, and says by how much", () => {
    const cpu = TOP_SERVER_CPU;
    const rows = GPU_CATALOG.filter((m) => !CPU_EXCLUDED.includes(m.id)).map((m) => {
      const honest = modelledGpu(m.id);
      const walk = memoryWalkFor(m, reportedVramMib(m));
      return {
        id: m.id,
        compute: cpu.matmulTflops / honest.matmulTflops,
        reads: cpu.readGBps / honest.readGBps,
        // The walk (its own window): the honest part's time over the CPU's.
        walk: memoryPhaseMs(honest, walk).walkMs / memoryPhaseMs(cpu, walk).walkMs,
      };
    });
    // Eleven parts: the CPU out-computes (≥ 1.25×) and out-reads (≥ 1.05×) the honest part, and
    // finishes the walk sooner; no window passes the honest part and not the CPU.
    const dominated = rows.filter((r) => r.compute >= 1.25 && r.reads >= 1.05 && r.walk >= 1.05);
    expect(dominated.map((r) => r.id).sort()).toEqual(
      ["A10", "A100-40GB", "A40", "L4", "L40S", "RTX-3060", "RTX-3080", "RTX-3090", "RTX-4070"]
        .concat(["RTX-4080", "RTX-4090"])
        .sort(),
    );
    // RTX-5090: the CPU is slower in the walk, by only ~6% (reads 0.94×): less than the slack
    // any window must leave an honest part (its random-read efficiency is modelled, not
    // measured), so no documented margin separates them.
    const rtx5090 = rows.find((r) => r.id === "RTX-5090");
    expect(rtx5090?.walk).toBeGreaterThan(0.9);
    expect(rtx5090?.walk).toBeLessThan(1);
    expect(rtx5090?.compute).toBeGreaterThan(2);
    expect(rows).toHaveLength(12);
  });
});
