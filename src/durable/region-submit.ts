import { drizzle } from "drizzle-orm/d1";
import type { NodeView } from "../shared/api.js";
import { MeridianError } from "../shared/errors.js";
import { type Admitted, admitJob } from "./job-admission.js";
import { admittedRow } from "./job-rows.js";
import type { JobRecord, SubmitOutcome, SubmitRequest } from "./region-records.js";
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

export interface SubmitParts {
  env: Env;
  state: RegionState;
  /** The offers users may rent now (for a GPU job's price cap). */
  rentable: () => NodeView[];
  save: () => Promise<void>;
}

/**
 * A user's job, in one call: admitted (its row, first event and hold in D1 — the `jobs` table's
 * only writer is the Region object), queued, placed if it fits now; the answer says where it went
 * or why it waits. A gang larger than the region could never start here, so it is refused.
 */
export async function submitJob(parts: SubmitParts, request: SubmitRequest): Promise<SubmitOutcome> {
  const { state } = parts;
  const gang = request.spec.nodes ?? 1;
  if (gang > 1 && gang > state.nodes.size) {
    throw new MeridianError(
      422,
      "infeasible_job",
      `a gang of ${gang} nodes is larger than region ${state.region} (it has ${state.nodes.size} node(s))`,
      { constraint: "nodes", regionNodes: state.nodes.size },
    );
  }
  const admitted = await admitJob(parts.env, { ...request, region: state.region }, parts.rentable);
  const queueable = state.jobs.has(admitted.jobId)
    ? undefined
    : await queueableJob(parts.env.DB, request.accountId, admitted);
  const job = queueable && request.service ? { ...queueable, service: request.service } : queueable;
  if (job && state.submit(job, Date.now())) await parts.save();
  return submitOutcome(state, admitted.jobId, admitted.replayed, Date.now());
}
