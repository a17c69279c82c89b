import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { NodeSnapshot } from "./metrics-change.js";

/** What the exposition shows besides the hardware sample. */
export interface AgentGauges {
  jobsRunning: number;
  acceptingWork: boolean;
  rttMs: number | undefined;
}

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;
interface Family {
  name: string;
  help: string;
  type: "gauge" | "counter";
  samples: { labels: Labels; value: number }[];
}

/** Renders the Prometheus text exposition format 0.0.4. Families with no samples are left out. */
export function renderPrometheus(snapshot: NodeSnapshot | undefined, gauges: AgentGauges): string {
  const gpus = snapshot?.gpus ?? [];
  const perGpu = (pick: (gpu: NodeSnapshot["gpus"][number]) => number | undefined) =>
    gpus.flatMap((gpu) => {
      const value = pick(gpu);
      return value === undefined ? [] : [{ labels: { gpu: String(gpu.index), uuid: gpu.uuid }, value }];
    });
  const one = (value: number | undefined) => (value === undefined ? [] : [{ labels: {}, value }]);
  const families: Family[] = [
    {
      name: "meridian_gpu_utilization_ratio",
      help: "Fraction of time a kernel ran on the GPU over the last sample period.",
      type: "gauge",
      samples: perGpu((gpu) => (gpu.utilizationPct === undefined ? undefined : gpu.utilizationPct / 100)),
    },
    {
      name: "meridian_gpu_memory_used_bytes",
      help: "GPU memory in use.",
      type: "gauge",
      samples: perGpu((gpu) =>
        gpu.memoryUsedMib === undefined ? undefined : gpu.memoryUsedMib * 1024 * 1024,
      ),
    },
    {
      name: "meridian_gpu_memory_total_bytes",
      help: "GPU memory installed.",
      type: "gauge",
      samples: perGpu((gpu) => gpu.vramMib * 1024 * 1024),
    },
    {
      name: "meridian_gpu_temperature_celsius",
      help: "GPU core temperature.",
      type: "gauge",
      samples: perGpu((gpu) => gpu.temperatureC),
    },
    {
      name: "meridian_gpu_power_watts",
      help: "GPU power draw.",
      type: "gauge",
      samples: perGpu((gpu) => gpu.powerW),
    },
    {
      name: "meridian_gpu_sm_clock_hertz",
      help: "GPU SM clock.",
      type: "gauge",
      samples: perGpu((gpu) => (gpu.smClockMhz === undefined ? undefined : gpu.smClockMhz * 1e6)),
    },
    {
      name: "meridian_gpu_ecc_uncorrected_errors_total",
      help: "Uncorrected ECC errors since the driver loaded.",
      type: "counter",
      samples: perGpu((gpu) => gpu.eccUncorrected),
    },
    {
      name: "meridian_gpu_hw_slowdown",
      help: "1 while the hardware slows the GPU clocks (temperature or power brake).",
      type: "gauge",
      samples: perGpu((gpu) => (gpu.hwSlowdown === undefined ? undefined : gpu.hwSlowdown ? 1 : 0)),
    },
    {
      name: "meridian_host_cpu_utilization_ratio",
      help: "Fraction of host CPU time busy.",
      type: "gauge",
      samples: one(snapshot === undefined ? undefined : snapshot.host.cpuPct / 100),
    },
    {
      name: "meridian_host_memory_used_bytes",
      help: "Host memory in use.",
      type: "gauge",
      samples: one(snapshot === undefined ? undefined : snapshot.host.memoryUsedMib * 1024 * 1024),
    },
    {
      name: "meridian_host_disk_free_bytes",
      help: "Free disk where the agent keeps its data.",
      type: "gauge",
      samples: one(snapshot === undefined ? undefined : snapshot.host.diskFreeMib * 1024 * 1024),
    },
    {
      name: "meridian_jobs_running",
      help: "Job attempts this node holds.",
      type: "gauge",
      samples: one(gauges.jobsRunning),
    },
    {
      name: "meridian_accepting_work",
      help: "1 while the node takes new work (inside its operating windows).",
      type: "gauge",
      samples: one(gauges.acceptingWork ? 1 : 0),
    },
    {
      name: "meridian_control_plane_rtt_seconds",
      help: "Moving median of round trips to the control plane.",
      type: "gauge",
      samples: one(gauges.rttMs === undefined ? undefined : gauges.rttMs / 1000),
    },
  ];
  const lines: string[] = [];
  for (const family of families) {
    if (family.samples.length === 0) continue;
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples)
      lines.push(`${family.name}${labelText(sample.labels)} ${formatValue(sample.value)}`);
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([key, value]) => `${key}="${escapeLabel(value)}"`).join(",")}}`;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

/** Serves GET /metrics; bound to loopback unless told otherwise, since it needs no scrape auth. */
export async function serveMetrics(
  port: number,
  address: string,
  render: () => string,
): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((request, response) => {
    if (request.method !== "GET" || (request.url ?? "/").split("?")[0] !== "/metrics") {
      response.writeHead(404, { "content-type": "text/plain" });
      response.end("not found; metrics are at /metrics\n");
      return;
    }
    response.writeHead(200, { "content-type": PROMETHEUS_CONTENT_TYPE });
    response.end(render());
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, address, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(":") ? `[${address}]` : address}:${bound.port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
