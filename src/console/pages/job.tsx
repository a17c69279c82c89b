import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { Link } from "wouter";
import type { JobEventView, JobView } from "../../shared/api.js";
import { isTerminal } from "../../shared/job-status.js";
import { JobOutputs } from "../components/job-outputs.js";
import { StatusBadge } from "../components/job-table.js";
import { LiveLogs } from "../components/live-logs.js";
import { ErrorNotice, QueryView } from "../components/query-view.js";
import { Timeline } from "../components/timeline.js";
import { duration, usd, when } from "../lib/format.js";
import { useClient } from "../session.js";

/**
 * The job's status events as a stream (GET …/events/stream): each one updates the timeline and
 * refreshes the job (its state, cost and reason) as it happens.
 */
function useLiveEvents(jobId: string): { events: JobEventView[]; error: unknown; retry: () => void } {
  const client = useClient();
  const queryClient = useQueryClient();
  const [events, setEvents] = useState<JobEventView[]>([]);
  const [error, setError] = useState<unknown>();
  const [attempt, setAttempt] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: `attempt` restarts the stream on purpose.
  useEffect(() => {
    const abort = new AbortController();
    setError(undefined);
    (async () => {
      const seen: JobEventView[] = [];
      try {
        for await (const event of client.streamJobEvents(jobId, abort.signal)) {
          seen.push(event);
          setEvents([...seen]);
          void queryClient.invalidateQueries({ queryKey: ["job", jobId] });
        }
        void queryClient.invalidateQueries({ queryKey: ["job", jobId] });
      } catch (caught) {
        if (!abort.signal.aborted) setError(caught);
      }
    })();
    return () => abort.abort();
  }, [client, jobId, queryClient, attempt]);
  return { events, error, retry: () => setAttempt((n) => n + 1) };
}

function Explanation({ job }: { job: JobView }) {
  const explanation = job.explanation;
  if (job.status !== "queued" || !explanation) return null;
  const nearest = explanation.relaxations[0];
  return (
    <section className="card" aria-labelledby="waits-title">
      <h2 id="waits-title">Why it waits</h2>
      <p data-testid="queued-reason">{explanation.message}</p>
      {nearest ? (
        <p>
          Nearest change that would place it: <strong>{nearest.text}</strong>
        </p>
      ) : null}
      {explanation.estimatedStartAt ? (
        <p className="muted">Estimated start: {when(explanation.estimatedStartAt)}</p>
      ) : null}
    </section>
  );
}

function Summary({ job }: { job: JobView }) {
  return (
    <dl className="facts">
      <dt>Status</dt>
      <dd data-testid="job-status">
        <StatusBadge status={job.status} />
      </dd>
      {job.reason ? (
        <>
          <dt>Reason</dt>
          <dd>{job.reason}</dd>
        </>
      ) : null}
      <dt>Image</dt>
      <dd className="mono">{job.image}</dd>
      <dt>Region</dt>
      <dd>{job.region}</dd>
      <dt>Node</dt>
      <dd className="mono">{job.nodeId ?? "—"}</dd>
      <dt>Attempts</dt>
      <dd>{job.attempts}</dd>
      <dt>Ran for</dt>
      <dd>{duration(job.startedAt, job.endedAt)}</dd>
      <dt>Exit code</dt>
      <dd>{job.exitCode ?? "—"}</dd>
      <dt>Cost so far</dt>
      <dd data-testid="job-cost">
        {usd(job.cost.charged)} <span className="muted">(held {usd(job.cost.held)})</span>
      </dd>
    </dl>
  );
}

export function JobPage({ id }: { id: string }) {
  const client = useClient();
  const queryClient = useQueryClient();
  const job = useQuery({
    queryKey: ["job", id],
    queryFn: async () => (await client.getJob(id)).data,
    // State changes come from the event stream; this only moves "cost so far" along while it runs.
    refetchInterval: (query) => (query.state.data && !isTerminal(query.state.data.status) ? 5_000 : false),
  });
  const live = useLiveEvents(id);
  const cancel = useMutation({
    mutationFn: async () => (await client.cancelJob(id)).data,
    onSuccess: (data) => queryClient.setQueryData(["job", id], data),
  });
  // Pause keeps the checkpoint and frees the GPUs; resume queues it for any node that fits.
  const pauseOrResume = useMutation({
    mutationFn: async (action: "pause" | "resume") =>
      (action === "pause" ? await client.pauseJob(id) : await client.resumeJob(id)).data,
    onSuccess: (data) => queryClient.setQueryData(["job", id], data),
  });
  return (
    <>
      <p>
        <Link href="/jobs">← Jobs</Link>
      </p>
      <QueryView query={job} label="the job">
        {(data) => {
          const ended = isTerminal(data.status);
          return (
            <>
              <h1>
                {data.name} <span className="muted mono">{data.id}</span>
              </h1>
              <div className="row">
                {ended ? null : (
                  <button
                    type="button"
                    className="danger"
                    onClick={() => cancel.mutate()}
                    disabled={cancel.isPending}
                  >
                    {cancel.isPending ? "Cancelling…" : "Cancel job"}
                  </button>
                )}
                {data.status === "running" && data.spec.checkpoint ? (
                  <button
                    type="button"
                    onClick={() => pauseOrResume.mutate("pause")}
                    disabled={pauseOrResume.isPending}
                  >
                    Pause job
                  </button>
                ) : null}
                {data.status === "paused" ? (
                  <button
                    type="button"
                    onClick={() => pauseOrResume.mutate("resume")}
                    disabled={pauseOrResume.isPending}
                  >
                    Resume job
                  </button>
                ) : null}
              </div>
              {cancel.isError ? <ErrorNotice error={cancel.error} retry={() => cancel.mutate()} /> : null}
              {pauseOrResume.isError ? <ErrorNotice error={pauseOrResume.error} /> : null}
              <div className="tiles">
                <section className="card" aria-label="Summary">
                  <Summary job={data} />
                </section>
                <section className="card" aria-labelledby="timeline-title">
                  <h2 id="timeline-title">Timeline</h2>
                  {live.error ? <ErrorNotice error={live.error} retry={live.retry} /> : null}
                  <Timeline events={live.events} />
                </section>
              </div>
              <Explanation job={data} />
              <LiveLogs jobId={id} live={!ended} />
              <JobOutputs jobId={id} ended={ended} />
            </>
          );
        }}
      </QueryView>
    </>
  );
}
