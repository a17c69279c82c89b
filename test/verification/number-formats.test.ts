import { describe, expect, it } from "vitest";
import { GPU_CATALOG } from "../../src/shared/gpu-catalog.js";
import { judgeImpostor, TOP_SERVER_CPU } from "../../src/shared/verification/device-model.js";
import {
  CPU_ROUTE,
  formatMargins,
  MIN_USEFUL_MARGIN,
  NATIVE_DENSE_RATES,
} from "../../src/shared/verification/number-formats.js";

/**
 * Issue 14 item 4 for the 12 parts a top server CPU passes for: is there a number format the GPU
 * runs natively and the CPU must emulate, with a margin a window could use? The answer, part by
 * part, on datasheet rates against the modelled CPU's cheapest exact route.
 */
describe("number formats against the top server CPU", () => {
  const cpuPasses = GPU_CATALOG.filter((model) => !judgeImpostor(TOP_SERVER_CPU, model.id).caught).map(
    (model) => model.id,
  );

  it("covers exactly the parts the CPU passes for today, with their catalogue bf16 rates", () => {
    expect(Object.keys(NATIVE_DENSE_RATES).sort()).toEqual([...cpuPasses].sort());
    for (const model of GPU_CATALOG.filter((m) => cpuPasses.includes(m.id)))
      expect(NATIVE_DENSE_RATES[model.id]?.bf16).toBe(model.bf16Tflops);
  });

  it("routes each format through the CPU's fastest exact unit: int4 as int8, fp8 and fp4 as bf16", () => {
    expect(CPU_ROUTE.int4.rate).toBe(TOP_SERVER_CPU.int8Tops);
    expect(CPU_ROUTE.fp8.rate).toBe(TOP_SERVER_CPU.matmulTflops);
    expect(CPU_ROUTE.fp4.rate).toBe(TOP_SERVER_CPU.matmulTflops);
    // bf16, today's format, leaves every one of the 12 behind the CPU (the reason they pass).
    for (const id of cpuPasses)
      expect(formatMargins(id).find((m) => m.format === "bf16")?.margin).toBeLessThan(1);
  });

  it("gives four parts a paper margin in one native format, and eight none in any", () => {
    const best = Object.fromEntries(cpuPasses.map((id) => [id, formatMargins(id)[0]]));
    const withMargin = cpuPasses.filter((id) => (best[id]?.margin ?? 0) >= MIN_USEFUL_MARGIN).sort();
    expect(withMargin).toEqual(["A100-40GB", "L40S", "RTX-4090", "RTX-5090"]);
    expect(best["RTX-4090"]).toMatchObject({ format: "int4" });
    expect(best["RTX-4090"]?.margin).toBeCloseTo(1.44, 2);
    expect(best["A100-40GB"]).toMatchObject({ format: "int4" });
    expect(best["A100-40GB"]?.margin).toBeCloseTo(1.36, 2);
    expect(best.L40S).toMatchObject({ format: "fp8" });
    expect(best.L40S?.margin).toBeCloseTo(1.6, 2);
    expect(best["RTX-5090"]).toMatchObject({ format: "fp4" });
    expect(best["RTX-5090"]?.margin).toBeCloseTo(1.83, 2);
    // The other eight: the CPU's exact route beats every format they have, the RTX 4080 closest.
    const none = cpuPasses.filter((id) => !withMargin.includes(id));
    expect(none).toHaveLength(8);
    for (const id of none) expect(best[id]?.margin).toBeLessThan(0.86);
    expect(best["RTX-4080"]).toMatchObject({ format: "int4" });
    expect(best["RTX-3060"]?.margin).toBeLessThan(0.25);
  });
});
