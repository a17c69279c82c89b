import { formatMargins, NATIVE_DENSE_RATES, NOT_ADOPTED } from "../src/shared/verification/number-formats.js";

/**
 * bench:verify's last table: for the parts a top server CPU passes for on bf16 timing, each native
 * tensor format's margin against the CPU's cheapest exact route (datasheet rates, modelled CPU;
 * src/shared/verification/number-formats.ts). Nothing here runs a GPU.
 */
export function formatTable(): void {
  console.log("| part | best format | honest / CPU | bf16 (today) | why not in the protocol |");
  console.log("| --- | --- | --- | --- | --- |");
  for (const id of Object.keys(NATIVE_DENSE_RATES)) {
    const margins = formatMargins(id);
    const best = margins[0];
    const bf16 = margins.find((m) => m.format === "bf16");
    if (!best || !bf16) continue;
    const why =
      best.format === "bf16"
        ? "—"
        : best.margin < 1
          ? "the CPU is faster in every format"
          : NOT_ADOPTED[best.format];
    console.log(
      `| ${id} | ${best.format} | ${best.margin.toFixed(2)}× | ${bf16.margin.toFixed(2)}× | ${why} |`,
    );
  }
}
