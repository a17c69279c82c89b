/**
 * The openb trace (Alibaba cluster-trace-gpu-v2023, see bench/data/alibaba-openb-2023/README.md)
 * as plain records: nodes and pods exactly as the CSV states them, with nothing of the scheduler's
 * types, so the independent baselines (`replay-plain.ts`) can read the same input without sharing
 * any code with what they check.
 */
import { readFileSync } from "node:fs";
import path from "node:path";

export const TRACE_DIR = path.join(import.meta.dirname, "data", "alibaba-openb-2023");
export const WHOLE = 1000;

export interface TraceNode {
  id: string;
  cpuMilli: number;
  memoryMib: number;
  gpus: number;
  /** "" for a node without GPUs. */
  model: string;
}

export interface TracePod {
  name: string;
  cpuMilli: number;
  memoryMib: number;
  gpus: number;
  /** Per GPU, thousandths: below 1000 only for a pod of one shared GPU. */
  gpuMilli: number;
  /** Allowed models; undefined for any. */
  models: readonly string[] | undefined;
  /** Seconds from the trace start. */
  createdAt: number;
  /** Seconds it holds its resources once started. */
  holdSeconds: number;
}

function readCsv(file: string): Record<string, string>[] {
  const [header, ...lines] = readFileSync(file, "utf8").trim().split(/\r?\n/);
  if (!header) throw new Error(`${file} is empty`);
  const columns = header.split(",");
  return lines.map((line) => {
    const cells = line.split(",");
    return Object.fromEntries(columns.map((column, index) => [column, cells[index] ?? ""]));
  });
}

function need(row: Record<string, string>, column: string, file: string): number {
  const value = Number(row[column]);
  if (row[column] === undefined || row[column] === "" || !Number.isFinite(value)) {
    throw new Error(`${file}: column ${column} is missing or not a number in ${JSON.stringify(row)}`);
  }
  return value;
}

export function readTraceNodes(file: string): TraceNode[] {
  return readCsv(file).map((row) => ({
    id: row.sn ?? "",
    cpuMilli: need(row, "cpu_milli", file),
    memoryMib: need(row, "memory_mib", file),
    gpus: need(row, "gpu", file),
    model: row.model ?? "",
  }));
}

export function readTracePods(file: string): TracePod[] {
  return readCsv(file).map((row) => {
    const gpus = need(row, "num_gpu", file);
    const spec = row.gpu_spec ? [...new Set(row.gpu_spec.split("|"))] : undefined;
    const createdAt = Number(row.creation_time || 0);
    const deletedAt = Number(row.deletion_time || createdAt);
    // Pods the cluster never scheduled have no scheduled_time: they held nothing, but replayed
    // they would run from creation to deletion.
    const startedAt = row.scheduled_time ? Number(row.scheduled_time) : createdAt;
    return {
      name: row.name ?? "",
      cpuMilli: need(row, "cpu_milli", file),
      memoryMib: need(row, "memory_mib", file),
      gpus,
      gpuMilli: gpus === 1 ? need(row, "gpu_milli", file) : WHOLE,
      models: gpus > 0 ? spec : undefined,
      createdAt,
      holdSeconds: Math.max(1, deletedAt - startedAt),
    };
  });
}

export const podGpuMilli = (pod: TracePod): number => pod.gpus * pod.gpuMilli;
export const gpuCapacityMilli = (nodes: readonly TraceNode[]): number =>
  nodes.reduce((sum, node) => sum + node.gpus, 0) * WHOLE;

/**
 * The FGD protocol's arrival sequence: the pods in order, cycling when the list runs out, until
 * the arrived GPU demand reaches the cluster's GPU capacity. Every policy sees the same sequence.
 */
export function* fgdArrivals(pods: readonly TracePod[], capacityMilli: number): Generator<TracePod> {
  let arrived = 0;
  for (let count = 0; arrived < capacityMilli && pods.length > 0; count++) {
    const pod = pods[count % pods.length];
    if (!pod) return;
    arrived += podGpuMilli(pod);
    yield pod;
  }
}
