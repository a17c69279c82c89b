/**
 * bench:verify, part 4: by how much each impostor class misses the commit window (modelled from
 * the catalogue and the window; no GPU here). An impostor that commits in time is judged by the
 * region-timed rate: the challenge's FLOPs over its product time plus ~1 s of digests and round
 * trip, against the claimed part's datasheet.
 */
import { type GpuModel, gpuModelById } from "../src/shared/gpu-catalog.js";
import { challengeSizeFor, commitWindowMs, flopsOf } from "../src/shared/verification/challenge-size.js";
import {
  COMPUTE_IMPOSSIBLE_ABOVE,
  COMPUTE_REJECT_BELOW,
  COMPUTE_VERIFIED_AT,
} from "../src/shared/verification/thresholds.js";

interface Impostor {
  what: string;
  claims: string;
  /** Its sustained rate on the challenge's products, TFLOP/s (or TOPS for int8). */
  rateTflops: number;
  /** What the in-window checks cannot see about it (item 3), if anything. */
  unseen?: string;
}

function model(id: string): GpuModel {
  const found = gpuModelById(id);
  if (!found) throw new Error(`no ${id} in the catalogue`);
  return found;
}

/** 80% of datasheet dense bf16: what plain PyTorch reaches on a real part. */
const at80 = (id: string): number => 0.8 * model(id).bf16Tflops;
/** 2× Xeon 6980P: 256 cores × 2,048 int8 op/cycle × 2.0 GHz = 1,049 TOPS peak, 70% sustained. */
const CPU_INT8 = 0.7 * 1049;
/** The same CPU in bf16 AMX (1,024 FLOP/cycle/core): 524 peak, 70% sustained. */
const CPU_BF16 = 0.7 * 524;

const IMPOSTORS: Impostor[] = [
  { what: "previous generation: A100-80GB", claims: "H100-SXM", rateTflops: at80("A100-80GB") },
  { what: "PCIe for SXM: H100-PCIE", claims: "H100-SXM", rateTflops: at80("H100-PCIE") },
  {
    what: "same compute, less memory: H100-SXM",
    claims: "H200",
    rateTflops: at80("H100-SXM"),
    unseen: "141 GB and 4.8 TB/s are not proven in the window",
  },
  {
    what: "same compute, less memory: A100-40GB",
    claims: "A100-80GB",
    rateTflops: at80("A100-40GB"),
    unseen: "80 GB is not proven in the window",
  },
  { what: "top server CPU, int8 AMX", claims: "H100-SXM", rateTflops: CPU_INT8 },
  { what: "top server CPU, int8 AMX", claims: "B200", rateTflops: CPU_INT8 },
  { what: "top server CPU, bf16 AMX (if entries needed > 8 bits)", claims: "H100-SXM", rateTflops: CPU_BF16 },
  { what: "top server CPU, bf16 AMX", claims: "A100-80GB", rateTflops: CPU_BF16 },
];

function verdict(ratio: number): string {
  // Faster than the datasheet is refused as impossible — but a liar that fast just commits later.
  if (ratio > COMPUTE_IMPOSSIBLE_ABOVE) return "too fast, so it waits and commits at ~80%: verified";
  if (ratio >= COMPUTE_VERIFIED_AT) return "verified";
  if (ratio >= COMPUTE_REJECT_BELOW) return "suspect (never listed)";
  return "rejected";
}

export function impostorTable(): void {
  console.log(
    "| impostor | claims | its rate | product time | window | result |\n| --- | --- | --- | --- | --- | --- |",
  );
  for (const impostor of IMPOSTORS) {
    const claimed = model(impostor.claims);
    const size = challengeSizeFor(claimed);
    const windowMs = commitWindowMs(claimed, size);
    const productMs = (flopsOf(size) / (impostor.rateTflops * 1e12)) * 1000;
    const late = productMs / windowMs;
    const ratio = flopsOf(size) / ((productMs + 1000) / 1000) / 1e12 / claimed.bf16Tflops;
    const result =
      late > 1
        ? `misses by ${late.toFixed(2)}×`
        : `**commits** (${((1 - late) * 100).toFixed(0)}% early); region-timed ${(ratio * 100).toFixed(0)}%: ${verdict(ratio)}${impostor.unseen ? `; ${impostor.unseen}` : ""}`;
    console.log(
      `| ${impostor.what} | ${impostor.claims} | ${impostor.rateTflops.toFixed(0)} | ${(productMs / 1000).toFixed(1)} s | ${(windowMs / 1000).toFixed(1)} s | ${result} |`,
    );
  }
}
