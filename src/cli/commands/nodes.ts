import type { NodeView } from "../../shared/api.js";
import type { Command } from "../command.js";
import { printResult } from "../command.js";
import { formatTable } from "../table.js";

export const nodesCommand: Command = {
  words: ["nodes"],
  summary: "list the provider nodes and their free GPUs",
  usage: "Usage: meridian nodes\n",
  options: [],
  arity: [0, 0],
  async run(context) {
    const { data, raw } = await context.client.listNodes();
    printResult(context, raw, () => renderNodes(data.nodes));
  },
};

/** Said under the table: CPUS and MEMORY are the providers' word (NodeView.hostVerified). */
export const HOST_FIGURES_NOTE =
  "CPUS and MEMORY: as each provider reported them; the region verifies GPUs, not hosts.\n";

export function renderNodes(nodes: readonly NodeView[]): string {
  if (nodes.length === 0) return "No nodes.\n";
  const table = renderTable(nodes);
  return nodes.some((node) => node.hostVerified !== true) ? `${table}${HOST_FIGURES_NOTE}` : table;
}

function renderTable(nodes: readonly NodeView[]): string {
  // A server older than per-node CPU prices sends none: its table has no such column.
  const cpuPrices = nodes.some((node) => node.pricePerVcpuHour !== undefined);
  return formatTable(
    [
      "ID",
      "REGION",
      "STATUS",
      "GPUS",
      "FREE",
      "CPUS",
      "MEMORY",
      "$/GPU-HOUR",
      ...(cpuPrices ? ["$/VCPU-HOUR"] : []),
      "VERIFIED",
      "REPUTATION",
      "STAKE",
      "LABELS",
    ],
    nodes.map((node) => [
      node.id,
      node.region,
      node.status,
      describeGpus(node),
      String(node.freeGpus),
      String(node.cpus),
      `${node.memoryGb} GB`,
      node.pricePerGpuHour,
      ...(cpuPrices ? [cpuPriceCell(node)] : []),
      node.verifiedTflops === null ? node.verification : `${node.verifiedTflops} TFLOP/s`,
      node.reputation.toFixed(2),
      node.stakeTier,
      Object.entries(node.labels)
        .map(([key, value]) => `${key}=${value}`)
        .join(",") || "-",
    ]),
  );
}

/** The node's vCPU-hour price, marked when it is the CPU table's rather than its provider's own. */
function cpuPriceCell(node: NodeView): string {
  if (node.pricePerVcpuHour === undefined) return "-";
  return node.cpuPriceSource === "table" ? `${node.pricePerVcpuHour} (table)` : node.pricePerVcpuHour;
}

/** `2x H100-SXM 80GB`; a mixed host lists each kind. */
function describeGpus(node: NodeView): string {
  if (node.gpus.length === 0) return "none";
  const counts = new Map<string, number>();
  for (const gpu of node.gpus) {
    const kind = `${gpu.model ?? gpu.name} ${gpu.vramGb}GB`;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].map(([kind, count]) => `${count}x ${kind}`).join(", ");
}
