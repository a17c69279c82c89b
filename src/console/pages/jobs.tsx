import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "wouter";
import type { JobStatus } from "../../shared/job-status.js";
import { JobTable } from "../components/job-table.js";
import { QueryView } from "../components/query-view.js";
import { useClient } from "../session.js";

const FILTERS: readonly (JobStatus | "all")[] = [
  "all",
  "queued",
  "running",
  "paused",
  "succeeded",
  "failed",
  "cancelled",
  "lost",
];

/** The account's jobs, newest first, filtered by status, paged by cursor. */
export function JobsPage() {
  const client = useClient();
  const [status, setStatus] = useState<JobStatus | "all">("all");
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors.at(-1);
  const jobs = useQuery({
    queryKey: ["jobs", status, cursor],
    queryFn: async () =>
      (await client.listJobs({ limit: 25, cursor, status: status === "all" ? undefined : status })).data,
    refetchInterval: 10_000,
  });
  return (
    <>
      <h1>Jobs</h1>
      <fieldset className="chips">
        <legend className="muted">Filter by status</legend>
        {FILTERS.map((name) => (
          <button
            type="button"
            key={name}
            aria-pressed={status === name}
            onClick={() => {
              setStatus(name);
              setCursors([]);
            }}
          >
            {name}
          </button>
        ))}
      </fieldset>
      <QueryView query={jobs} label="jobs">
        {(data) =>
          data.jobs.length === 0 ? (
            <p className="muted">
              No jobs{status === "all" ? "" : ` ${status}`}. <Link href="/submit">Submit one</Link>
            </p>
          ) : (
            <>
              <JobTable jobs={data.jobs} />
              <div className="row">
                <button
                  type="button"
                  disabled={cursors.length === 0}
                  onClick={() => setCursors(cursors.slice(0, -1))}
                >
                  Newer
                </button>
                <button
                  type="button"
                  disabled={!data.nextCursor}
                  onClick={() => data.nextCursor && setCursors([...cursors, data.nextCursor])}
                >
                  Older
                </button>
              </div>
            </>
          )
        }
      </QueryView>
    </>
  );
}
