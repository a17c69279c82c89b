import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useMemo, useState } from "react";
import { Link } from "wouter";
import type { UsageView } from "../../shared/ledger-api.js";
import { Chart } from "../components/chart.js";
import { DataTable } from "../components/data-table.js";
import { ErrorNotice, QueryView } from "../components/query-view.js";
import { TopUp } from "../components/top-up.js";
import { download, usd, when } from "../lib/format.js";
import { useClient } from "../session.js";

const DAY_MS = 86_400_000;
const PALETTE = ["#4f7cff", "#22a06b", "#e5a50a", "#d9534f", "#8e5bd6", "#1aa3b8"];

/** The last 30 UTC days, to tomorrow's midnight (so today's charges count). */
function range(): { from: string; to: string } {
  const tomorrow = new Date(Math.ceil(Date.now() / DAY_MS) * DAY_MS);
  return {
    from: new Date(tomorrow.getTime() - 30 * DAY_MS).toISOString().slice(0, 10),
    to: tomorrow.toISOString().slice(0, 10),
  };
}

function DailyChart({ usage }: { usage: UsageView }) {
  const data = useMemo(() => {
    const x = usage.rows.map((row) => Date.parse(row.key) / 1000);
    return {
      x,
      series: [
        {
          label: "USD",
          color: PALETTE[0] ?? "#4f7cff",
          values: usage.rows.map((r) => r.chargedMicros / 1e6),
        },
      ],
    };
  }, [usage]);
  if (usage.rows.length === 0) return <p className="muted">No charges in the last 30 days.</p>;
  return <Chart title="Charges per day, USD" x={data.x} series={data.series} bars />;
}

function ByModel({ usage }: { usage: UsageView }) {
  const top = Math.max(1, ...usage.rows.map((row) => row.chargedMicros));
  if (usage.rows.length === 0) return null;
  return (
    <ul className="bars" aria-label="Charges by GPU model">
      {usage.rows.map((row, index) => (
        <li key={row.key}>
          <span>{row.key === "" ? "CPU" : row.key}</span>
          <span
            className="bar"
            style={{
              width: `${(row.chargedMicros / top) * 100}%`,
              background: PALETTE[index % PALETTE.length],
            }}
          />
          <span>
            {usd(row.charged)} · {row.billableSeconds}s
          </span>
        </li>
      ))}
    </ul>
  );
}

function Limits() {
  const client = useClient();
  const queryClient = useQueryClient();
  const limits = useQuery({ queryKey: ["limits"], queryFn: async () => (await client.limits()).data });
  const [cap, setCap] = useState("");
  const save = useMutation({
    mutationFn: async (monthlyCap: string | null) => (await client.setLimits({ monthlyCap })).data,
    onSuccess: (data) => {
      queryClient.setQueryData(["limits"], data);
      setCap("");
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(cap.trim() === "" ? null : cap.trim());
  };
  return (
    <section className="card" aria-labelledby="limits-title">
      <h2 id="limits-title">Limits</h2>
      <QueryView query={limits} label="limits">
        {(data) => (
          <dl className="facts">
            <dt>Monthly cap</dt>
            <dd>{data.monthlyCap ? usd(data.monthlyCap) : "none"}</dd>
            <dt>Spent this month</dt>
            <dd>{usd(data.spentThisMonth)}</dd>
            <dt>Max spend per hour</dt>
            <dd>{data.maxSpendPerHour ? usd(data.maxSpendPerHour) : "none"}</dd>
          </dl>
        )}
      </QueryView>
      <form onSubmit={submit} className="row">
        <label htmlFor="cap">New monthly cap (USD, empty removes it)</label>
        <input
          id="cap"
          inputMode="decimal"
          value={cap}
          onChange={(event) => setCap(event.target.value)}
          placeholder="100.00"
        />
        <button type="submit" disabled={save.isPending}>
          Save
        </button>
      </form>
      {save.isError ? <ErrorNotice error={save.error} /> : null}
    </section>
  );
}

/** Spend by day and by GPU model, the ledger, a CSV export and the account's limits. */
export function BillingPage() {
  const client = useClient();
  const window = useMemo(range, []);
  const byDay = useQuery({
    queryKey: ["usage", "day", window],
    queryFn: async () => (await client.usage({ ...window, groupBy: "day" })).data,
  });
  const byModel = useQuery({
    queryKey: ["usage", "gpuModel", window],
    queryFn: async () => (await client.usage({ ...window, groupBy: "gpuModel" })).data,
  });
  const byJob = useQuery({
    queryKey: ["usage", "job", window],
    queryFn: async () => (await client.usage({ ...window, groupBy: "job" })).data,
  });
  const ledger = useQuery({
    queryKey: ["ledger"],
    queryFn: async () => (await client.ledger({ limit: 50 })).data,
  });
  const csv = useMutation({
    mutationFn: () => client.usageCsv({ ...window, groupBy: "job" }),
    onSuccess: (text) => download(`meridian-usage-${window.from}-${window.to}.csv`, text, "text/csv"),
  });
  return (
    <>
      <h1>Billing</h1>
      <TopUp />
      <div className="tiles">
        <section className="card" aria-labelledby="usage-title">
          <h2 id="usage-title">Usage, last 30 days</h2>
          <QueryView query={byDay} label="usage">
            {(usage) => (
              <>
                <p className="big" data-testid="usage-total">
                  {usd(usage.total)}
                </p>
                <DailyChart usage={usage} />
              </>
            )}
          </QueryView>
          <h3>By GPU model</h3>
          <QueryView query={byModel} label="usage by model">
            {(usage) => <ByModel usage={usage} />}
          </QueryView>
          <button type="button" onClick={() => csv.mutate()} disabled={csv.isPending}>
            Export CSV (by job)
          </button>
          {csv.isError ? <ErrorNotice error={csv.error} retry={() => csv.mutate()} /> : null}
        </section>
        <Limits />
      </div>
      <section aria-labelledby="by-job-title">
        <h2 id="by-job-title">Charges by job</h2>
        <QueryView query={byJob} label="charges by job">
          {(usage) => (
            <DataTable testId="usage-by-job" columns={["Job", "Attempts", "Charged", "Billable time"]}>
              {usage.rows.map((row) => (
                <tr key={row.key}>
                  <td className="mono">
                    <Link href={`/jobs/${row.key}`}>{row.key}</Link>
                  </td>
                  <td>{row.attempts}</td>
                  <td>{usd(row.charged)}</td>
                  <td>{row.billableSeconds} s</td>
                </tr>
              ))}
            </DataTable>
          )}
        </QueryView>
      </section>
      <section aria-labelledby="ledger-title">
        <h2 id="ledger-title">Ledger</h2>
        <QueryView query={ledger} label="the ledger">
          {(page) => (
            <DataTable testId="ledger" columns={["When", "Kind", "Job", "Effect on balance", "Amount"]}>
              {page.entries.map((entry) => (
                <tr key={entry.id}>
                  <td>{when(entry.createdAt)}</td>
                  <td>{entry.kind}</td>
                  <td className="mono">{entry.jobId ?? "—"}</td>
                  <td>{usd(entry.balanceEffect)}</td>
                  <td>{usd(entry.amount)}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </QueryView>
      </section>
    </>
  );
}
