import type { JobView } from "../shared/api.js";
import type { MeridianClient } from "../shared/client/meridian-client.js";
import { isTerminal } from "../shared/job-status.js";
import { CliError } from "./cli-error.js";
import type { CliIo } from "./io.js";

/** Streams that end before the job does (the server's 15-minute limit) are resumed this many times. */
const MAX_RESUMES = 1000;

function waitingLine(job: JobView): string | undefined {
  if (job.status !== "queued") return undefined;
  const nearest = job.explanation?.relaxations[0];
  const why = job.explanation?.message ?? job.reason ?? "waiting for a node";
  return `[meridian] ${job.id} is queued: ${why}${nearest ? `; would place now: ${nearest.text}` : ""}\n`;
}

/**
 * `jobs logs -f`: prints the output as it arrives until the job ends, then its final state and
 * reason on stderr. A job that did not succeed makes the command fail (exit 1). A queued job's
 * reason for waiting is said first, so a job that cannot place is never a silent hang.
 */
export async function followLogs(client: MeridianClient, io: CliIo, jobId: string): Promise<void> {
  const first = (await client.getJob(jobId)).data;
  const waiting = waitingLine(first);
  if (waiting) io.stderr(waiting);
  // The log is resent from its start on each reconnect; what was printed already is skipped.
  let printed = 0;
  for (let resume = 0; resume <= MAX_RESUMES; resume++) {
    let seen = 0;
    for await (const chunk of client.jobLogs(jobId, true)) {
      const fresh = chunk.slice(Math.max(0, printed - seen));
      seen += chunk.length;
      if (fresh) {
        io.stdout(fresh);
        printed += fresh.length;
      }
    }
    const job = (await client.getJob(jobId)).data;
    if (isTerminal(job.status)) return finish(io, job);
  }
}

function finish(io: CliIo, job: JobView): void {
  const exit = job.exitCode === null ? "" : ` (exit code ${job.exitCode})`;
  const reason = job.reason ? `: ${job.reason}` : "";
  if (job.status === "succeeded") {
    io.stderr(`[meridian] ${job.id} succeeded${exit}\n`);
    return;
  }
  throw new CliError(`job_${job.status}`, `${job.id} ended ${job.status}${reason}${exit}`);
}
