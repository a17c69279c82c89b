import type { JobEventView, JobList, JobView } from "../shared/api.js";
import { formatKeyValues, formatTable, orDash } from "./table.js";

/** Readable forms of jobs and their events. */

export function renderJobList(list: JobList): string {
  if (list.jobs.length === 0) return "No jobs.\n";
  const table = formatTable(
    ["ID", "NAME", "STATUS", "REGION", "NODE", "ATTEMPTS", "CREATED"],
    list.jobs.map((job) => [
      job.id,
      job.name,
      job.status,
      job.region,
      orDash(job.nodeId),
      String(job.attempts),
      shortTime(job.createdAt),
    ]),
  );
  return list.nextCursor ? `${table}\nmore: meridian jobs list --cursor ${list.nextCursor}\n` : table;
}

export function renderJob(job: JobView): string {
  return formatKeyValues([
    ["id", job.id],
    ["name", job.name],
    ["status", job.status],
    ["reason", orDash(job.reason)],
    ["region", job.region],
    ["image", job.image],
    ["command", describeCommand(job.spec.command)],
    ["gpus", describeGpus(job.spec.resources)],
    ["node", orDash(job.nodeId)],
    ["attempt", orDash(job.attemptId)],
    ["attempts", String(job.attempts)],
    ["exit code", orDash(job.exitCode)],
    ["created", shortTime(job.createdAt)],
    ["assigned", shortTime(job.assignedAt)],
    ["started", shortTime(job.startedAt)],
    ["ended", shortTime(job.endedAt)],
  ]);
}

export function renderJobEvents(events: readonly JobEventView[]): string {
  if (events.length === 0) return "No events.\n";
  return formatTable(
    ["SEQ", "AT", "STATUS", "REASON", "NODE", "ATTEMPT"],
    events.map((event) => [
      String(event.seq),
      shortTime(event.at),
      event.status,
      orDash(event.reason),
      orDash(event.nodeId),
      orDash(event.attemptId),
    ]),
  );
}

/** ISO time to the second: the milliseconds are noise on a terminal. */
export function shortTime(iso: string | null): string {
  return iso === null ? "-" : iso.replace(/\.\d+Z$/, "Z");
}

function describeCommand(command: unknown): string {
  if (!Array.isArray(command) || command.length === 0) return "(image default)";
  return command
    .map((arg) => (typeof arg === "string" && /^[\w./:=@%+-]+$/.test(arg) ? arg : JSON.stringify(arg)))
    .join(" ");
}

function describeGpus(resources: unknown): string {
  if (typeof resources !== "object" || resources === null) return "-";
  const gpus = "gpus" in resources ? resources.gpus : undefined;
  const models = "gpuModels" in resources ? resources.gpuModels : undefined;
  const count = typeof gpus === "number" ? String(gpus) : "-";
  return Array.isArray(models) && models.length > 0 ? `${count} (${models.join(" or ")})` : count;
}
