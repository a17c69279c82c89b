import { drizzle } from "drizzle-orm/d1";
import type { NodeView } from "../shared/api.js";
import { MeridianError } from "../shared/errors.js";
import { type Admitted, admitJob } from "./job-admission.js";
import { admittedRow, rowAfter } from "./job-rows.js";
import type { OutboxEntry } from "./outbox-entry.js";
import type { JobRecord, SubmitOutcome, SubmitRequest } from "./region-records.js";
import { jobIsHere, newJobIdHere, type ShardPlace, wrongShardForJob } from "./region-shard.js";
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
  heldMicros: number | null = null,
  row: SubmitOutcome["row"] = null,
): SubmitOutcome {
  const job = state.jobs.get(jobId);
  const placed = job && job.members.length > 0 ? job.members : null;
  return {
    jobId,
    replayed,
    status: job?.status ?? "queued",
    placement: placed?.map((m) => ({ nodeId: m.nodeId, attemptId: m.id, rank: m.rank })) ?? null,
    explanation: job ? explainJob(state, job, now) : null,
    heldMicros,
    row,
  };
}

export interface SubmitParts {
  env: Env;
  state: RegionState;
  /** Which shard of its region this object is (one of one where the region is not sharded). */
  shard: ShardPlace;
  /** The offers users may rent now (for a GPU job's price cap). */
  rentable: () => NodeView[];
  /** Saves the step; answers the D1 records it owed (its answer waited for them). */
  save: () => Promise<readonly OutboxEntry[]>;
}

/**
 * A user's job, in one call: admitted (its row, first event and hold in D1 — the `jobs` table's
 * only writer is the Region object), queued, placed if it fits now; the answer says where it went
 * or why it waits. A gang larger than the region (its shard: a gang stays within one) could never
 * start here, so it is refused. In a sharded region a new job's id hashes to the shard that holds
 * it; a replayed request that reached another shard than its job's is refused with 409
 * `wrong_shard` naming the job's, and nothing is queued here.
 */
export async function submitJob(parts: SubmitParts, request: SubmitRequest): Promise<SubmitOutcome> {
  const { state, shard } = parts;
  const gang = request.spec.nodes ?? 1;
  if (gang > 1 && gang > state.nodes.size) {
    const where =
      shard.count === 1
        ? `region ${state.region}`
        : `the largest shard of region ${state.region} (a gang is kept within one of its ${shard.count} shards)`;
    throw new MeridianError(
      422,
      "infeasible_job",
      `a gang of ${gang} nodes is larger than ${where} (it has ${state.nodes.size} node(s))`,
      { constraint: "nodes", regionNodes: state.nodes.size },
    );
  }
  const newJobId = shard.count === 1 ? undefined : (now: number) => newJobIdHere(shard, now);
  const admitted = await admitJob(
    parts.env,
    { ...request, region: state.region, ...(newJobId ? { newJobId } : {}) },
    parts.rentable,
  );
  if (!jobIsHere(shard, admitted.jobId)) throw wrongShardForJob(shard, admitted.jobId);
  const queueable = state.jobs.has(admitted.jobId)
    ? undefined
    : await queueableJob(parts.env.DB, request.accountId, admitted);
  const job = queueable && request.service ? { ...queueable, service: request.service } : queueable;
  const recorded = job && state.submit(job, Date.now()) ? await parts.save() : [];
  const row = admitted.row ? rowAfter(admitted.row, recorded) : null;
  return submitOutcome(
    state,
    admitted.jobId,
    admitted.replayed,
    Date.now(),
    admitted.heldMicros ?? null,
    row,
  );
}
