/**
 * bench:replay — the Alibaba GPU-cluster trace (openb, cluster-trace-gpu-v2023; see
 * bench/data/alibaba-openb-2023/README.md) through the scheduler module the Region object runs,
 * for Meridian's policy and the plain first-fit and best-fit baselines, in one run:
 *
 * (a) fragmentation, the FGD protocol (`replay-fgd.ts`), on the trace's three pod lists and on
 *     samples drawn from them (`replay-samples.ts`). The baselines are cross-checked against an
 *     independent implementation (`replay-plain.ts`): they must agree within 2%.
 * (b) the load sweep (`replay-load.ts`): arrivals compressed to 80%, 100% and 120% offered load,
 *     departures at each pod's recorded duration.
 *
 *   npm run bench:replay [-- --nodes <nodes.csv>] [--pods <pods.csv>] [--no-samples] [--no-sweep]
 *                        [--seed <n>] [--only <text>]
 *
 * `--seed` draws the samples with another seed (the default is the one the recorded figures use);
 * `--only` keeps the workloads whose name contains the text (for example `--only model`).
 *
 * Prints tables, then one JSON line last. Exits non-zero if a baseline disagrees with its
 * independent implementation by more than 2%.
 */
import path from "node:path";
import { performance } from "node:perf_hooks";
import type { Policy } from "../src/durable/scheduler/index.js";
import { fragmentation } from "./replay-fgd.js";
import { unallocatedFloor } from "./replay-floor.js";
import { compressed, loadReplay } from "./replay-load.js";
import { plainFragmentation } from "./replay-plain.js";
import { drawSample, SAMPLE_SEED, SAMPLES } from "./replay-samples.js";
import { gpuCapacityMilli, readTraceNodes, readTracePods, TRACE_DIR, type TracePod } from "./replay-trace.js";

const AGREEMENT = 0.02;
const LOADS = [0.8, 1, 1.2];
const POLICIES: readonly Policy[] = ["meridian", "bestFit", "firstFit"];

function flag(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  if (index < 0) return undefined;
  const value = process.argv[index + 1];
  if (!value) throw new Error(`${name} needs a value`);
  return value;
}

const round = (value: number, digits: number): number => Math.round(value * 10 ** digits) / 10 ** digits;
const percent = (value: number): string => `${(value * 100).toFixed(2)}%`;

const nodesFile = flag("--nodes") ?? path.join(TRACE_DIR, "openb_node_list_gpu_node.csv");
const podsFile = flag("--pods");
const nodes = readTraceNodes(nodesFile);
const list = (name: string): TracePod[] => readTracePods(path.join(TRACE_DIR, `openb_pod_list_${name}.csv`));

interface Workload {
  name: string;
  pods: TracePod[];
  target: number;
}

const seedFlag = flag("--seed");
const seed = seedFlag === undefined ? SAMPLE_SEED : Number(seedFlag);
if (!Number.isSafeInteger(seed)) throw new Error("--seed needs an integer");
const only = flag("--only");

const allWorkloads: Workload[] = podsFile
  ? [{ name: path.basename(podsFile), pods: readTracePods(podsFile), target: 0.95 }]
  : [
      { name: "default", pods: list("default"), target: 0.95 },
      { name: "gpuspec33", pods: list("gpuspec33"), target: 0.95 },
      // Half of its GPU demand is multi-GPU pods: the multi-GPU-heavy bar applies.
      { name: "multigpu50", pods: list("multigpu50"), target: 0.8 },
    ];
if (!podsFile && !process.argv.includes("--no-samples")) {
  for (const sample of SAMPLES)
    allWorkloads.push({
      name: sample.name,
      pods: drawSample(sample, list(sample.from), seed),
      target: sample.target,
    });
}
const workloads =
  only === undefined ? allWorkloads : allWorkloads.filter((workload) => workload.name.includes(only));

console.log(
  `${path.basename(nodesFile)}: ${nodes.length} nodes, ${gpuCapacityMilli(nodes) / 1000} GPUs; ${workloads.length} workloads; sample seed ${seed}`,
);
const started = performance.now();
let disagreement = false;
const fgd: Record<string, Record<string, number | string | boolean>> = {};
for (const workload of workloads) {
  const result = Object.fromEntries(
    POLICIES.map((policy) => [policy, fragmentation(policy, nodes, workload.pods)] as const),
  );
  const plainBest = plainFragmentation("bestFit", nodes, workload.pods).unallocatedGpuFraction;
  const plainFirst = plainFragmentation("firstFit", nodes, workload.pods).unallocatedGpuFraction;
  const meridian = result.meridian?.unallocatedGpuFraction ?? Number.NaN;
  const bestFit = result.bestFit?.unallocatedGpuFraction ?? Number.NaN;
  const firstFit = result.firstFit?.unallocatedGpuFraction ?? Number.NaN;
  const agreement = Math.max(Math.abs(bestFit / plainBest - 1), Math.abs(firstFit / plainFirst - 1));
  if (!(agreement <= AGREEMENT)) disagreement = true;
  const stronger = Math.min(bestFit, firstFit);
  const ratio = meridian / stronger;
  const floor = unallocatedFloor(nodes, workload.pods);
  fgd[workload.name] = {
    meridian: percent(meridian),
    bestFit: percent(bestFit),
    firstFit: percent(firstFit),
    "plain bestFit": percent(plainBest),
    "plain firstFit": percent(plainFirst),
    agreement: `${(agreement * 100).toFixed(2)}%`,
    "vs stronger": round(ratio, 3),
    target: workload.target,
    met: ratio <= workload.target,
    floor: percent(floor),
    "above floor vs stronger": round((meridian - floor) / (stronger - floor), 3),
    "failed pods (m/bf/ff)": `${result.meridian?.failedPods}/${result.bestFit?.failedPods}/${result.firstFit?.failedPods}`,
  };
}
console.log("(a) unallocated GPU capacity, FGD protocol");
console.table(fgd);

const sweep: Record<string, Record<string, number>> = {};
if (!process.argv.includes("--no-sweep")) {
  const base = podsFile ? readTracePods(podsFile) : list("default");
  for (const load of LOADS) {
    const arrivals = compressed(base, gpuCapacityMilli(nodes), load);
    for (const policy of POLICIES) {
      const run = loadReplay(policy, nodes, arrivals);
      sweep[`${load * 100}% ${policy}`] = {
        offered: round(run.offeredLoad, 3),
        utilisation: round(run.utilisation, 4),
        started: run.started,
        "mean wait s": round(run.meanWaitSeconds, 1),
        "p95 wait s": round(run.p95WaitSeconds, 1),
        "never started": run.neverStarted,
      };
    }
  }
  console.log("(b) load sweep: arrivals compressed, departures at recorded durations");
  console.table(sweep);
}
console.log(`wall time ${round((performance.now() - started) / 1000, 1)} s`);
if (disagreement)
  console.error(`a baseline disagrees with its independent implementation by more than ${AGREEMENT * 100}%`);
console.log(JSON.stringify({ fragmentation: fgd, sweep }));
if (disagreement) process.exitCode = 1;
