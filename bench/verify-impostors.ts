/**
 * bench:verify, part 4: how each impostor class fares against every window — the compute phase
 * (challenge-size.ts), the memory phase's fill and its walk, each timed on its own (memory-size.ts)
 * — and what the classifier lists it as when it makes them all (modelled timings from device-model.ts, no GPU here; real windows and
 * classifier). Every liar lies as well as it can: it waits wherever it is faster than the part it
 * claims. "late" is its time over the window: above 1 the deadline judges it.
 */
import { GPU_CATALOG } from "../src/shared/gpu-catalog.js";
import {
  type ImpostorVerdict,
  judgeImpostor,
  type ModelledDevice,
  modelledGpu,
  TOP_SERVER_CPU,
} from "../src/shared/verification/device-model.js";
import { A100_NVLINK, judgePool, PCIE4_X16 } from "../src/shared/verification/pooled-model.js";

const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function row(what: string, verdict: ImpostorVerdict): string {
  const phase = (p: ImpostorVerdict["compute"]): string =>
    `${s(p.ms)} / ${s(p.windowMs)}${p.late > 1 ? ` (**late ${p.late.toFixed(2)}×**)` : ""}`;
  const result = verdict.caught
    ? verdict.listedAs
      ? `caught: listed as ${verdict.listedAs}`
      : `caught: misses by ${Math.max(verdict.compute.late, verdict.fill.late, verdict.memory.late).toFixed(2)}×`
    : verdict.device === verdict.claims
      ? `listed as ${verdict.claims}`
      : `**passes** as ${verdict.claims}`;
  return `| ${what} | ${verdict.claims} | ${phase(verdict.compute)} | ${phase(verdict.fill)} | ${phase(verdict.memory)} | ${(verdict.memory.residentFraction * 100).toFixed(0)}% | ${result} |`;
}

export function impostorTable(): void {
  console.log(
    "| impostor | claims | compute phase / window | fill / window | walk / window | working set held | result |\n| --- | --- | --- | --- | --- | --- | --- |",
  );
  const gpu = (id: string): ModelledDevice => modelledGpu(id);
  for (const [device, claims, what] of [
    ["A100-80GB", "H100-SXM", "previous generation: A100-80GB"],
    ["H100-PCIE", "H100-SXM", "PCIe for SXM: H100-PCIE"],
    ["H100-SXM", "H200", "same compute, less memory: H100-SXM"],
    ["A100-40GB", "A100-80GB", "same compute, less memory: A100-40GB"],
    ["RTX-4090", "RTX-5090", "smaller consumer part: RTX-4090"],
    ["L40S", "A100-80GB", "less memory, more integer rate: L40S"],
  ] as const) {
    console.log(row(what, judgeImpostor(gpu(device), claims)));
  }
  for (const model of GPU_CATALOG) {
    console.log(row(`top server CPU: ${TOP_SERVER_CPU.name}`, judgeImpostor(TOP_SERVER_CPU, model.id)));
  }
  console.log(
    "\npooled GPUs answering for one bigger part (pooled-model.ts: the working set split across the pool)\n",
  );
  console.log(
    "| pool | claims | compute phase / window | walk / window | result |\n| --- | --- | --- | --- | --- |",
  );
  const nvlink4 = { name: "NVLink 4 (450 GB/s a direction, 80%)", gbps: 0.8 * 450 };
  for (const [member, link, claims] of [
    ["A100-40GB", PCIE4_X16, "A100-80GB"],
    ["A100-40GB", A100_NVLINK, "A100-80GB"],
    ["A100-40GB", A100_NVLINK, "H100-SXM"],
    ["H100-SXM", nvlink4, "H200"],
  ] as const) {
    const pool = judgePool(member, 2, link, claims);
    const late = Math.max(pool.compute.late, pool.memory.late);
    const result = pool.passes ? "**passes**" : `caught: misses by ${late.toFixed(2)}×`;
    console.log(
      `| ${pool.pool} | ${claims} | ${s(pool.compute.ms)} / ${s(pool.compute.windowMs)} | ${s(pool.memory.ms)} / ${s(pool.memory.windowMs)} | ${result} |`,
    );
  }
  console.log("\nhonest parts (80% of datasheet compute, 85% bandwidth), for the spare in each window\n");
  console.log(
    "| part | claims | compute phase / window | fill / window | walk / window | working set held | result |\n| --- | --- | --- | --- | --- | --- | --- |",
  );
  for (const model of GPU_CATALOG) console.log(row(model.id, judgeImpostor(gpu(model.id), model.id)));
}
