import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import type { NodeView } from "../../shared/api.js";
import { DataTable } from "../components/data-table.js";
import { QueryView } from "../components/query-view.js";
import { WorldMap } from "../components/world-map.js";
import { fixed, usd } from "../lib/format.js";
import { FILTER_FIELDS, matchesFilter, parseFilter } from "../lib/node-filter.js";
import { useClient } from "../session.js";

function gpuSummary(node: NodeView): string {
  if (node.gpus.length === 0) return "CPU only";
  const counts = new Map<string, number>();
  for (const gpu of node.gpus)
    counts.set(gpu.model ?? gpu.name, (counts.get(gpu.model ?? gpu.name) ?? 0) + 1);
  return [...counts].map(([model, count]) => `${count}× ${model}`).join(", ");
}

function NodeTable({ nodes }: { nodes: readonly NodeView[] }) {
  return (
    <DataTable
      testId="nodes-table"
      columns={[
        "Node",
        "Region",
        "Status",
        "GPUs",
        "VRAM",
        "Verified TFLOP/s",
        "Price /GPU-h",
        "Price /vCPU-h",
        "Price /TFLOP-h",
        "Reputation",
      ]}
    >
      {nodes.map((node) => (
        <tr key={node.id}>
          <td className="mono">{node.id}</td>
          <td>{node.region}</td>
          <td>
            <span className={`badge node-${node.status}`}>{node.status}</span>
          </td>
          <td>
            {gpuSummary(node)}
            <div
              className="muted"
              title="CPU and memory as the provider reported them; the region verifies GPUs, not hosts"
            >
              {node.freeGpus} free · {node.cpus} CPU · {node.memoryGb} GB
              {node.hostVerified === true ? "" : " (reported)"}
            </div>
          </td>
          <td>{node.gpus.length === 0 ? "—" : `${Math.max(...node.gpus.map((gpu) => gpu.vramGb))} GB`}</td>
          <td>
            {fixed(node.verifiedTflops)}
            <div className="muted">{node.verification}</div>
          </td>
          <td>{usd(node.pricePerGpuHour)}</td>
          <td>
            {usd(node.pricePerVcpuHour)}
            {node.cpuPriceSource === "table" ? <div className="muted">table rate</div> : null}
          </td>
          <td>{usd(node.pricePerVerifiedTflopHour)}</td>
          <td>{fixed(node.reputation, 2)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

/** Where capacity is: a map of regions and their nodes, and a filterable table of offers. */
export function NodesPage() {
  const client = useClient();
  const [filterText, setFilterText] = useState("");
  const filter = useMemo(() => parseFilter(filterText), [filterText]);
  const nodes = useQuery({
    queryKey: ["nodes"],
    queryFn: async () => (await client.listNodes()).data.nodes,
    refetchInterval: 15_000,
  });
  const health = useQuery({ queryKey: ["health"], queryFn: async () => (await client.health()).data });
  return (
    <>
      <h1>Nodes</h1>
      <QueryView query={health} label="regions">
        {(regions) => <WorldMap regions={regions.regionLocations} nodes={nodes.data ?? []} />}
      </QueryView>
      <label htmlFor="node-filter">Filter</label>
      <input
        id="node-filter"
        type="search"
        placeholder="gpu=H100 vram>=80 price<2"
        value={filterText}
        onChange={(event) => setFilterText(event.target.value)}
        aria-describedby="node-filter-help"
      />
      <p id="node-filter-help" className="muted">
        Terms like <code>gpu=H100</code>, <code>vram&gt;=80</code>, <code>price&lt;2</code>,{" "}
        <code>tflops&gt;500</code>, <code>rep&gt;=0.8</code>, <code>region=eu-west</code>; fields:{" "}
        {FILTER_FIELDS.join(", ")}.
      </p>
      {filter.errors.map((error) => (
        <p key={error} role="alert" className="notice warn">
          {error}
        </p>
      ))}
      <QueryView query={nodes} label="nodes">
        {(list) => {
          const shown = list.filter((node) => matchesFilter(node, filter));
          return (
            <>
              <p className="muted" aria-live="polite">
                {shown.length} of {list.length} nodes
              </p>
              {list.length === 0 ? (
                <p>
                  No nodes are registered yet. Start an agent:{" "}
                  <code>npm run agent -- --control-plane {location.origin}</code>
                </p>
              ) : (
                <NodeTable nodes={shown} />
              )}
            </>
          );
        }}
      </QueryView>
    </>
  );
}
