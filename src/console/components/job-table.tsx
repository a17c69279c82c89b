import { Link } from "wouter";
import type { JobView } from "../../shared/api.js";
import { usd, when } from "../lib/format.js";
import { DataTable } from "./data-table.js";

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}

export function JobTable({ jobs }: { jobs: readonly JobView[] }) {
  return (
    <DataTable columns={["Job", "Status", "Region", "Created", "Cost"]}>
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
    </DataTable>
  );
}
