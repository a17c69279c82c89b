import { drizzle } from "drizzle-orm/d1";
import type { Admitted } from "./job-admission.js";
import { admittedRow } from "./job-rows.js";
import type { JobRecord, SubmitOutcome } from "./region-records.js";
import type { RegionState } from "./region-state.js";
import { explainJob } from "./region-views.js";

/**
 * The record to queue for an admitted job the region does not hold: a new one, or (a replayed
 * request) one whose admission reached D1 while the object failed before queueing it. A replayed
 * job that has moved on (it ran, or ended) is not queued again.
 */
export async function queueableJob(
  db: D1Database,
  accountId: string,
  admitted: Admitted,
): Promise<JobRecord | undefined> {
  let { spec, createdAt } = admitted;
  if (admitted.replayed) {
    const row = await admittedRow(drizzle(db), admitted.jobId);
    if (row?.status !== "queued") return undefined;
    ({ spec, createdAt } = row);
  }
  return {
    id: admitted.jobId,
    accountId,
    spec,
    createdAt,
    status: "queued",
    seq: 1,
    attempts: 0,
    members: [],
    excludedNodes: [],
    retryAt: null,
    spentMicros: 0,
  };
}

/** Where a submitted job went, or why it waits. */
export function submitOutcome(
  state: RegionState,
  jobId: string,
  replayed: boolean,
  now: number,
): SubmitOutcome {
  const job = state.jobs.get(jobId);
  const placed = job && job.members.length > 0 ? job.members : null;
  return {
    jobId,
    replayed,
    status: job?.status ?? "queued",
    placement: placed?.map((m) => ({ nodeId: m.nodeId, attemptId: m.id, rank: m.rank })) ?? null,
    explanation: job ? explainJob(state, job, now) : null,
  };
}
