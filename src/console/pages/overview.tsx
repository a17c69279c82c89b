import { useQuery } from "@tanstack/react-query";
import { Link } from "wouter";
import { JobTable } from "../components/job-table.js";
import { QueryView } from "../components/query-view.js";
import { usd } from "../lib/format.js";
import { useClient } from "../session.js";

/** Balance, this month's spend against the cap, and the jobs that are live now. */
export function OverviewPage() {
  const client = useClient();
  const balance = useQuery({ queryKey: ["balance"], queryFn: async () => (await client.balance()).data });
  const limits = useQuery({ queryKey: ["limits"], queryFn: async () => (await client.limits()).data });
  const jobs = useQuery({
    queryKey: ["jobs", "recent"],
    queryFn: async () => (await client.listJobs({ limit: 50 })).data,
    refetchInterval: 10_000,
  });
  return (
    <>
      <h1>Overview</h1>
      <div className="tiles">
        <section className="card" aria-labelledby="balance-title">
          <h2 id="balance-title">Balance</h2>
          <QueryView query={balance} label="balance">
            {(data) => (
              <dl>
                <dt>Available</dt>
                <dd className="big" data-testid="balance-available">
                  {usd(data.available)}
                </dd>
                <dt>Held by jobs</dt>
                <dd>{usd(data.held)}</dd>
              </dl>
            )}
          </QueryView>
        </section>
        <section className="card" aria-labelledby="spend-title">
          <h2 id="spend-title">Spend this month</h2>
          <QueryView query={limits} label="limits">
            {(data) => {
              const cap = data.monthlyCapMicros;
              const share = cap ? Math.min(1, data.spentThisMonthMicros / cap) : 0;
              return (
                <>
                  <p className="big">{usd(data.spentThisMonth)}</p>
                  {cap ? (
                    <>
                      <meter min={0} max={1} value={share} aria-label="share of the monthly cap spent" />
                      <p className="muted">
                        of a {usd(data.monthlyCap)} cap ({Math.round(share * 100)}%)
                      </p>
                    </>
                  ) : (
                    <p className="muted">
                      No monthly cap. <Link href="/billing">Set one</Link>
                    </p>
                  )}
                  <p className="muted">Running now: {usd(data.activeSpendPerHour)}/h</p>
                </>
              );
            }}
          </QueryView>
        </section>
      </div>
      <section aria-labelledby="live-title">
        <h2 id="live-title">Running and queued jobs</h2>
        <QueryView query={jobs} label="jobs">
          {(data) => {
            const live = data.jobs.filter((job) => ["queued", "assigned", "running"].includes(job.status));
            return live.length === 0 ? (
              <p className="muted">
                Nothing running. <Link href="/submit">Submit a job</Link>
              </p>
            ) : (
              <JobTable jobs={live} />
            );
          }}
        </QueryView>
      </section>
    </>
  );
}
