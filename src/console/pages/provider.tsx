import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import type { NodeMetricsView } from "../../shared/provider-api.js";
import { Chart } from "../components/chart.js";
import { QueryView } from "../components/query-view.js";
import { fixed, usd, when } from "../lib/format.js";
import { useClient } from "../session.js";

const COLORS = ["#d9534f", "#4f7cff", "#22a06b", "#e5a50a"];

function MetricsCharts({ metrics }: { metrics: NodeMetricsView }) {
  const data = useMemo(() => {
    const x = metrics.series.map((sample) => Date.parse(sample.at) / 1000);
    const gpuCount = Math.max(0, ...metrics.series.map((sample) => sample.gpus.length));
    const perGpu = (pick: (gpu: NodeMetricsView["series"][number]["gpus"][number]) => number | undefined) =>
      Array.from({ length: gpuCount }, (_, index) => ({
        label: `GPU ${index}`,
        color: COLORS[index % COLORS.length] ?? "#4f7cff",
        values: metrics.series.map(
          (sample) => pick(sample.gpus[index] ?? { index, memoryUsedMib: 0 }) ?? null,
        ),
      }));
    return {
      x,
      temperature: perGpu((gpu) => gpu.temperatureC),
      utilization: perGpu((gpu) => gpu.utilizationPct),
      cpu: [{ label: "CPU %", color: "#8e5bd6", values: metrics.series.map((sample) => sample.host.cpuPct) }],
    };
  }, [metrics]);
  if (metrics.series.length === 0)
    return <p className="muted">No samples yet: the agent sends them when they change.</p>;
  return (
    <>
      {data.temperature.length > 0 ? (
        <Chart title="GPU temperature, °C" x={data.x} series={data.temperature} />
      ) : null}
      {data.utilization.length > 0 ? (
        <Chart title="GPU utilisation, %" x={data.x} series={data.utilization} />
      ) : null}
      <Chart title="Host CPU, %" x={data.x} series={data.cpu} />
    </>
  );
}

function NodeDetail({ nodeId }: { nodeId: string }) {
  const client = useClient();
  const node = useQuery({
    queryKey: ["provider-node", nodeId],
    queryFn: async () => (await client.providerNode(nodeId)).data,
  });
  const metrics = useQuery({
    queryKey: ["metrics", nodeId],
    queryFn: async () => (await client.nodeMetrics(nodeId)).data,
    refetchInterval: 15_000,
  });
  return (
    <QueryView query={node} label="the node">
      {(view) => (
        <div className="tiles">
          <section className="card" aria-labelledby="verification-title">
            <h3 id="verification-title">
              Verification: {view.verification?.outcome ?? "not required (CPU node)"}
            </h3>
            {view.verification ? (
              <ul>
                {view.verification.gpus.map((gpu) => (
                  <li key={gpu.uuid}>
                    <strong>{gpu.model ?? gpu.uuid}</strong>: {gpu.outcome}, {fixed(gpu.tflops)} TFLOP/s,{" "}
                    {fixed(gpu.bandwidthGBps)} GB/s
                    {gpu.reasons.map((reason) => (
                      <div key={reason.code} className="muted">
                        {reason.code}: {reason.message}
                      </div>
                    ))}
                  </li>
                ))}
              </ul>
            ) : null}
          </section>
          <section className="card" aria-labelledby="reputation-title">
            <h3 id="reputation-title">
              Reputation {fixed(view.reputation.score, 2)} ({view.reputation.status})
            </h3>
            <dl className="facts">
              <dt>Uptime</dt>
              <dd>{fixed(view.reputation.components.uptime, 3)}</dd>
              <dt>Success rate</dt>
              <dd>{fixed(view.reputation.components.successRate, 3)}</dd>
              <dt>Start latency</dt>
              <dd>
                {view.reputation.components.ackLatencyMs === null
                  ? "—"
                  : `${Math.round(view.reputation.components.ackLatencyMs)} ms`}
              </dd>
              <dt>Verification</dt>
              <dd>{fixed(view.reputation.components.verification, 3)}</dd>
              <dt>Confidence</dt>
              <dd>{fixed(view.reputation.confidence, 2)}</dd>
            </dl>
            {view.reputation.reason ? <p className="notice warn">{view.reputation.reason}</p> : null}
          </section>
          <section className="card" aria-labelledby="health-title">
            <h3 id="health-title">
              Health{view.health.hot ? ": hot" : ""}
              {view.health.gpuErrors ? ", GPU errors" : ""}
            </h3>
            {view.health.notices.map((notice) => (
              <p key={notice} className="notice warn">
                {notice}
              </p>
            ))}
            <QueryView query={metrics} label="metrics">
              {(samples) => <MetricsCharts metrics={samples} />}
            </QueryView>
          </section>
        </div>
      )}
    </QueryView>
  );
}

/** A provider's nodes (registered with this account's key), their standing, health and earnings. */
export function ProviderPage() {
  const client = useClient();
  const nodes = useQuery({
    queryKey: ["provider-nodes"],
    queryFn: async () => (await client.providerNodes()).data.nodes,
  });
  const earnings = useQuery({ queryKey: ["earnings"], queryFn: async () => (await client.earnings()).data });
  const [selected, setSelected] = useState<string | undefined>();
  return (
    <>
      <h1>Provider</h1>
      <section className="card" aria-labelledby="earnings-title">
        <h2 id="earnings-title">Earnings, last 30 days</h2>
        <QueryView query={earnings} label="earnings">
          {(data) => (
            <>
              <p className="big">{usd(data.total)}</p>
              <ul>
                {data.nodes.map((node) => (
                  <li key={node.nodeId}>
                    <span className="mono">{node.nodeId}</span>: pending {usd(node.pending)}, paid out{" "}
                    {usd(node.settled)}
                  </li>
                ))}
              </ul>
              {data.days.length > 0 ? (
                <p className="muted">
                  Last earning day: {data.days.at(-1)?.day} ({when(data.to)})
                </p>
              ) : null}
            </>
          )}
        </QueryView>
      </section>
      <section aria-labelledby="my-nodes-title">
        <h2 id="my-nodes-title">My nodes</h2>
        <QueryView query={nodes} label="your nodes">
          {(list) =>
            list.length === 0 ? (
              <p className="muted">
                No nodes of yours. Register one with your key:{" "}
                <code>npm run agent -- --control-plane {location.origin} --owner-key &lt;your key&gt;</code>
              </p>
            ) : (
              <>
                <fieldset className="chips">
                  <legend className="muted">Choose a node</legend>
                  {list.map((node) => (
                    <button
                      type="button"
                      key={node.id}
                      aria-pressed={selected === node.id}
                      onClick={() => setSelected(node.id)}
                    >
                      {node.id.slice(0, 14)}… {node.region} ({node.status})
                    </button>
                  ))}
                </fieldset>
                {selected ? (
                  <NodeDetail nodeId={selected} />
                ) : (
                  <p className="muted">Choose a node to see its standing.</p>
                )}
              </>
            )
          }
        </QueryView>
      </section>
    </>
  );
}
