import { TOP_SERVER_CPU } from "./device-model.js";

/**
 * Issue 14 item 4, beyond bf16 speed: is there a number format that one of the 12 parts a top
 * server CPU out-runs (docs/VERIFICATION.md) executes natively and a CPU must emulate slowly
 * enough to miss a window? A challenge in format F catches the CPU only where the honest part's
 * rate in F beats the CPU's cheapest *exact* route to the same products. This module holds both
 * sides and the ratio; the protocol itself still challenges in bf16 (see `adoptable`).
 */
export type TensorFormat = "bf16" | "int8" | "int4" | "fp8" | "fp4";

/**
 * Datasheet dense tensor rates (sparse figures ÷ 2), TFLOP/s or TOPS, with FP32 (INT32)
 * accumulation where the datasheet tells the two apart (GeForce parts halve FP16/FP8 with FP32
 * accumulation). Sources: NVIDIA's Ampere GA102 and Ada whitepapers (GeForce), the A10, A40, L4,
 * L40S and A100 datasheets. Where a datasheet gives no figure, the part has no such unit (or it is
 * not documented, which is the same for a protocol). RTX 5090 fp4: 1,676 dense as NVIDIA lists
 * it (3,352 "AI TOPS" sparse), fp8 1,676 sparse; whether GeForce Blackwell halves them with FP32
 * accumulation as Ada does is not documented, so both are given at the half (fp4 838, fp8 419),
 * the figures a window could rely on; its int8 rate is not published.
 */
export const NATIVE_DENSE_RATES: Readonly<Record<string, Partial<Record<TensorFormat, number>>>> = {
  "RTX-3060": { bf16: 25.5, int8: 102, int4: 204 },
  "RTX-3080": { bf16: 59.5, int8: 238, int4: 476 },
  "RTX-3090": { bf16: 71, int8: 284, int4: 568 },
  "RTX-4070": { bf16: 58.3, int8: 233, int4: 466, fp8: 116.6 },
  "RTX-4080": { bf16: 97.5, int8: 389.9, int4: 779.8, fp8: 194.9 },
  "RTX-4090": { bf16: 165.2, int8: 660.6, int4: 1321.2, fp8: 330.3 },
  "RTX-5090": { bf16: 209.5, fp8: 419, fp4: 838 },
  A10: { bf16: 125, int8: 250, int4: 500 },
  A40: { bf16: 149.7, int8: 299.3, int4: 598.7 },
  L4: { bf16: 121, int8: 242.5, fp8: 242.5 },
  L40S: { bf16: 362.05, int8: 733, int4: 733, fp8: 733 },
  "A100-40GB": { bf16: 312, int8: 624, int4: 1248 },
};

/**
 * The CPU's cheapest exact route to a format's products, at the modelled top server CPU's
 * sustained rates (2× Xeon 6980P: AMX bf16/fp16 367 TFLOP/s, AMX int8 734 TOPS; no AMX-FP8, no
 * int4 unit in AMX or AVX-512):
 * - int8: AMX int8.
 * - int4: AMX int8. Two 4-bit values packed in one 8-bit lane cannot be told apart again after a
 *   dot product of two or more terms, so packing gains nothing.
 * - fp8 (E4M3 over its exponent range): every E4M3 value is exactly a bf16, so AMX bf16 with FP32
 *   accumulation gives the same products; a fixed-point form needs ≥ 18 bits, so int8 would take
 *   three or more limb products, slower than bf16.
 * - fp4 (E2M1 with per-32 power-of-two block scales): twice an E2M1 value is an integer in
 *   [−12, 12], but a scale per 32 terms splits AMX's 64-deep int8 step in two (half rate, 367);
 *   every scaled value is a bf16, so bf16 at 367 too. Without block scales it would be int8 (734).
 */
export const CPU_ROUTE: Readonly<Record<TensorFormat, { via: "bf16" | "int8"; rate: number }>> = {
  bf16: { via: "bf16", rate: TOP_SERVER_CPU.matmulTflops },
  int8: { via: "int8", rate: TOP_SERVER_CPU.int8Tops },
  int4: { via: "int8", rate: TOP_SERVER_CPU.int8Tops },
  fp8: { via: "bf16", rate: TOP_SERVER_CPU.matmulTflops },
  fp4: { via: "bf16", rate: TOP_SERVER_CPU.matmulTflops },
};

/** An honest part's sustained share of its datasheet rate, as modelledGpu takes it. */
export const HONEST_EFFICIENCY = 0.8;

/** The smallest margin the protocol's windows leave the CPU elsewhere (the A100-80GB's walk, 1.06×). */
export const MIN_USEFUL_MARGIN = 1.05;

export interface FormatMargin {
  format: TensorFormat;
  /** The honest part's sustained rate over the CPU's exact route: above 1, the CPU is slower. */
  margin: number;
}

/** Each native format of a part, with the CPU's margin against it, best first. */
export function formatMargins(partId: string): FormatMargin[] {
  const rates = NATIVE_DENSE_RATES[partId];
  if (!rates) throw new RangeError(`no native rates for ${partId}`);
  return (Object.entries(rates) as [TensorFormat, number][])
    .map(([format, rate]) => ({ format, margin: (HONEST_EFFICIENCY * rate) / CPU_ROUTE[format].rate }))
    .sort((a, b) => b.margin - a.margin);
}

/**
 * Why a format with a margin is not yet in the protocol. Integer formats are exact (INT32 sums),
 * so a verifier can recompute them bit for bit; floating formats round in FP32 accumulators whose
 * precision in low-precision tensor MMA NVIDIA does not document (Hopper's FP8 keeps ~14 bits,
 * DeepSeek-V3 §3.3.2), so their canonical values must be measured first. Every one needs a kernel
 * PyTorch's matmul does not run, and none has run on a GPU here.
 */
export const NOT_ADOPTED: Readonly<Record<Exclude<TensorFormat, "bf16">, string>> = {
  int8: "int8 entries fit the CPU's fastest unit (AMX int8 runs twice its bf16 rate)",
  int4: "exact, but only PTX mma.sync .s4 (sm_80/86/89) runs it: no PyTorch op; kernel never run on a GPU",
  fp8: "torch._scaled_mm runs it on sm_89, but the accumulator's precision is undocumented: canonical values unmeasured",
  fp4: "CUTLASS block-scaled MMA on sm_120 only; rate with FP32 accumulation and accumulator precision undocumented",
};
