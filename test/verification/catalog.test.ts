import { describe, expect, it } from "vitest";
import { GPU_CATALOG, gpuModelById, gpuModelForReportedName } from "../../src/shared/gpu-catalog.js";

const ISSUE_4_PARTS = [
  "RTX-3060",
  "RTX-3080",
  "RTX-3090",
  "RTX-4070",
  "RTX-4080",
  "RTX-4090",
  "RTX-5090",
  "A10",
  "A40",
  "L4",
  "L40S",
  "A100-40GB",
  "A100-80GB",
  "H100-PCIE",
  "H100-SXM",
  "H200",
  "B200",
  "MI250",
  "MI300X",
];

describe("GPU catalogue", () => {
  it("lists every part of issue 4 with complete, sane figures", () => {
    for (const id of ISSUE_4_PARTS) expect(gpuModelById(id), id).toBeDefined();
    for (const model of GPU_CATALOG) {
      expect(model.memoryBandwidthGBps, model.id).toBeGreaterThan(100);
      expect(model.bf16Tflops, model.id).toBeGreaterThan(model.fp32Tflops);
      expect(model.fp16Tflops, model.id).toBeGreaterThanOrEqual(model.bf16Tflops);
      expect(Number.isInteger(model.referencePriceMicrosPerHour), model.id).toBe(true);
      expect(model.referencePriceMicrosPerHour, model.id).toBeGreaterThan(0);
      expect(model.reportedNames.length, model.id).toBeGreaterThan(0);
    }
  });

  it("holds the H100 SXM datasheet figures that the real-H100 fixture is compared with", () => {
    expect(gpuModelForReportedName("NVIDIA H100 80GB HBM3")).toMatchObject({
      id: "H100-SXM",
      architecture: "hopper",
      bf16Tflops: 989,
      fp32Tflops: 67,
      memoryBandwidthGBps: 3350,
    });
    // The fixture's measured 781–801 TFLOP/s and 3.0 TB/s must clear the verification thresholds.
    expect(781 / 989).toBeGreaterThanOrEqual(0.7);
    expect(3000 / 3350).toBeGreaterThanOrEqual(0.8);
  });

  it("prices faster datacenter parts higher", () => {
    const price = (id: string): number => gpuModelById(id)?.referencePriceMicrosPerHour ?? 0;
    expect(price("H200")).toBeGreaterThan(price("H100-SXM"));
    expect(price("H100-SXM")).toBeGreaterThan(price("A100-80GB"));
    expect(price("A100-80GB")).toBeGreaterThan(price("A100-40GB"));
  });
});
