import { Link } from "wouter";
import type { JobView } from "../../shared/api.js";
import { usd, when } from "../lib/format.js";

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}

export function JobTable({ jobs }: { jobs: readonly JobView[] }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Job</th>
            <th scope="col">Status</th>
            <th scope="col">Region</th>
            <th scope="col">Created</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((job) => (
            <tr key={job.id}>
              <td>
                <Link href={`/jobs/${job.id}`}>{job.name}</Link>
                <div className="muted mono">{job.id}</div>
              </td>
              <td>
                <StatusBadge status={job.status} />
                {job.reason ? <div className="muted">{job.reason}</div> : null}
              </td>
              <td>{job.region}</td>
              <td>{when(job.createdAt)}</td>
              <td>{usd(job.cost.charged)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
