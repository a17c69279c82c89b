import { useQuery } from "@tanstack/react-query";
import { useClient } from "../session.js";
import { DataTable } from "./data-table.js";
import { QueryView } from "./query-view.js";

function bytes(size: number): string {
  if (size < 1024) return `${size} B`;
  if (size < 1024 ** 2) return `${(size / 1024).toFixed(1)} KiB`;
  if (size < 1024 ** 3) return `${(size / 1024 ** 2).toFixed(1)} MiB`;
  return `${(size / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * The files a job's attempts uploaded, with their SHA-256 (and CID) to check a download against.
 * Links are short-lived, so the list is read again when the job ends and on each visit.
 */
export function JobOutputs({ jobId, ended }: { jobId: string; ended: boolean }) {
  const client = useClient();
  const outputs = useQuery({
    queryKey: ["job-outputs", jobId, ended],
    queryFn: async () => (await client.jobOutputs(jobId)).data.outputs,
  });
  return (
    <section className="card" aria-labelledby="outputs-title">
      <h2 id="outputs-title">Outputs</h2>
      <QueryView query={outputs} label="the outputs">
        {(list) =>
          list.length === 0 ? (
            <p className="muted">
              {ended ? "This job uploaded no files." : "Files appear here once the job has uploaded them."}
            </p>
          ) : (
            <DataTable testId="outputs" columns={["File", "Size", "SHA-256 / CID", "Where"]}>
              {list.map((file) => (
                <tr key={`${file.attemptId}/${file.path}`}>
                  <td>
                    {file.downloadUrl ? (
                      <a href={file.downloadUrl} download>
                        {file.path}
                      </a>
                    ) : (
                      file.path
                    )}
                  </td>
                  <td>{bytes(file.size)}</td>
                  <td className="mono">
                    {file.sha256}
                    {file.cid ? <div>{file.cid}</div> : null}
                  </td>
                  <td className="mono">{file.location}</td>
                </tr>
              ))}
            </DataTable>
          )
        }
      </QueryView>
    </section>
  );
}
