import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { XMLParser } from "fast-xml-parser";
import { gpuModelForReportedName } from "../shared/gpu-catalog.js";
import { GpuInfo } from "../shared/hardware.js";

const run = promisify(execFile);

export interface GpuDetection {
  gpus: GpuInfo[];
  /** Why no GPU was found (no driver, a failing nvidia-smi), said plainly; absent when GPUs were found. */
  note?: string;
}

/** `nvidia-smi`, or the binary named by MERIDIAN_NVIDIA_SMI (tests point it at a fake). */
export function nvidiaSmiPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.MERIDIAN_NVIDIA_SMI || "nvidia-smi";
}

/** Asks the NVIDIA driver which GPUs this host has. No driver is not an error: it is a CPU node. */
export async function detectGpus(binary: string = nvidiaSmiPath()): Promise<GpuDetection> {
  let xml: string;
  try {
    ({ stdout: xml } = await run(binary, ["-q", "-x"], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }));
  } catch (error) {
    if (error instanceof Error && "code" in error && error.code === "ENOENT") {
      return { gpus: [], note: `${binary} not found (no NVIDIA driver installed)` };
    }
    return {
      gpus: [],
      note: `${binary} -q -x failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const gpus = parseNvidiaSmiXml(xml);
  if (gpus.length === 0) return { gpus, note: `${binary} reported no GPUs` };
  // The XML report carries no compute capability; the query interface does. Best effort only.
  const capabilities = await run(binary, ["--query-gpu=uuid,compute_cap", "--format=csv,noheader"], {
    timeout: 30_000,
  }).then(
    ({ stdout }) => parseComputeCapCsv(stdout),
    () => new Map<string, string>(),
  );
  return {
    gpus: gpus.map((gpu) => {
      const computeCapability = gpu.computeCapability ?? capabilities.get(gpu.uuid);
      return computeCapability === undefined ? gpu : { ...gpu, computeCapability };
    }),
  };
}

const parser = new XMLParser({
  ignoreAttributes: true,
  // Keep every value as text: "13.0" must stay "13.0", not become the number 13.
  parseTagValue: false,
  isArray: (name, jpath) => jpath === "nvidia_smi_log.gpu" && name === "gpu",
});

/** Parses `nvidia-smi -q -x` output. GPUs are listed in nvidia-smi index order. */
export function parseNvidiaSmiXml(xml: string): GpuInfo[] {
  const document: unknown = parser.parse(xml);
  const log = field(document, "nvidia_smi_log");
  const driverVersion = text(field(log, "driver_version"));
  const cudaVersion = text(field(log, "cuda_version"));
  const entries = field(log, "gpu");
  if (!Array.isArray(entries)) return [];
  return entries.map((entry: unknown, index) => {
    const name = text(field(entry, "product_name")) ?? "unknown GPU";
    const computeCapability =
      text(field(entry, "compute_cap")) ?? text(field(entry, "cuda_compute_capability"));
    return GpuInfo.parse({
      index,
      uuid: text(field(entry, "uuid")) ?? `unknown-${index}`,
      name,
      model: gpuModelForReportedName(name)?.id,
      vramMib: mib(text(field(field(entry, "fb_memory_usage"), "total"))),
      computeCapability,
      driverVersion,
      cudaVersion,
    });
  });
}

/** Parses `nvidia-smi --query-gpu=uuid,compute_cap --format=csv,noheader` into uuid → capability. */
export function parseComputeCapCsv(csv: string): Map<string, string> {
  const capabilities = new Map<string, string>();
  for (const line of csv.split("\n")) {
    const [uuid, capability] = line.split(",").map((cell) => cell.trim());
    if (uuid && capability && /^\d+\.\d+$/.test(capability)) capabilities.set(uuid, capability);
  }
  return capabilities;
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** nvidia-smi writes "N/A" for what it does not know; that is absence, not a value. */
function text(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed === "" || trimmed === "N/A" ? undefined : trimmed;
}

function mib(value: string | undefined): number {
  const match = value?.match(/^(\d+)\s*MiB$/i);
  return match?.[1] === undefined ? 0 : Number(match[1]);
}
