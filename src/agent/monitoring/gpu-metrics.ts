import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The fields asked of nvidia-smi, in this order; the parser reads them by position. */
export const GPU_QUERY_FIELDS = [
  "index",
  "utilization.gpu",
  "memory.used",
  "temperature.gpu",
  "power.draw",
  "clocks.sm",
  "ecc.errors.uncorrected.volatile.total",
  "clocks_throttle_reasons.hw_slowdown",
] as const;

/** One GPU's reading. Fields nvidia-smi reports as unsupported ("[N/A]") are undefined. */
export interface GpuReading {
  index: number;
  utilizationPct: number | undefined;
  memoryUsedMib: number | undefined;
  temperatureC: number | undefined;
  powerW: number | undefined;
  smClockMhz: number | undefined;
  eccUncorrected: number | undefined;
  /** The hardware is slowing the clocks (over temperature, power brake): a sick or hot GPU. */
  hwSlowdown: boolean | undefined;
}

export async function sampleGpus(binary: string): Promise<GpuReading[]> {
  const { stdout } = await run(
    binary,
    [`--query-gpu=${GPU_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits"],
    { timeout: 15_000 },
  );
  return parseGpuQueryCsv(stdout);
}

/**
 * Parses the CSV. nvidia-smi writes "[N/A]" (or "N/A", "[Not Supported]", "[Unknown Error]") for
 * what a part or driver does not report; those become undefined rather than zeros, so a consumer
 * GPU without ECC is not mistaken for one with none. Lines that do not start with an index are
 * skipped (a driver warning printed to stdout, say).
 */
export function parseGpuQueryCsv(csv: string): GpuReading[] {
  const readings: GpuReading[] = [];
  for (const line of csv.split("\n")) {
    const cells = line.split(",").map((cell) => cell.trim());
    const index = integer(cells[0]);
    if (index === undefined) continue;
    readings.push({
      index,
      utilizationPct: number(cells[1]),
      memoryUsedMib: integer(cells[2]),
      temperatureC: number(cells[3]),
      powerW: number(cells[4]),
      smClockMhz: integer(cells[5]),
      eccUncorrected: integer(cells[6]),
      hwSlowdown: flag(cells[7]),
    });
  }
  return readings;
}

function number(cell: string | undefined): number | undefined {
  if (cell === undefined || !/^-?\d+(\.\d+)?$/.test(cell)) return undefined;
  return Number(cell);
}

function integer(cell: string | undefined): number | undefined {
  const value = number(cell);
  return value === undefined ? undefined : Math.round(value);
}

function flag(cell: string | undefined): boolean | undefined {
  if (cell === "Active") return true;
  if (cell === "Not Active") return false;
  return undefined;
}
