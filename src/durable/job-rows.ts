import { eq } from "drizzle-orm";
import { type JobRow, jobEvents, jobs } from "../../schema/tables.js";
import type { LedgerDb, LedgerStatement } from "../ledger/ledger-db.js";
import type { JobSpec } from "../shared/job-spec.js";
import type { OutboxEntry } from "./outbox-entry.js";

/**
 * Every write of the `jobs` table (and of its events), in one module: a job's row is created when
 * its region admits it and changed only by the records its region owes D1. Nothing else writes it.
 */

/** A job's row with its spec typed (what the region knows of it; the column itself is JSON). */
export type JobRowOf = Omit<JobRow, "spec"> & { spec: JobSpec };

/** A newly admitted job's row, as its admission inserts it. */
export function admittedJobRow(job: {
  id: string;
  accountId: string;
  region: string;
  spec: JobSpec;
  at: number;
}): JobRowOf {
  return {
    id: job.id,
    accountId: job.accountId,
    name: job.spec.name,
    region: job.region,
    image: job.spec.image,
    spec: job.spec,
    status: "queued",
    reason: null,
    nodeId: null,
    attemptId: null,
    attempts: 0,
    exitCode: null,
    createdAt: job.at,
    assignedAt: null,
    startedAt: null,
    endedAt: null,
    updatedAt: job.at,
  };
}

/** A newly admitted job: its row and its first event, `queued`. */
export function admittedJobStatements(
  db: LedgerDb,
  job: { id: string; accountId: string; region: string; spec: JobSpec; at: number },
): LedgerStatement[] {
  return [
    db.insert(jobs).values(admittedJobRow(job)),
    db.insert(jobEvents).values({ jobId: job.id, seq: 1, status: "queued", reason: "submitted", at: job.at }),
  ];
}

/**
 * The row after these records of its job reach D1: each transition changes it as
 * `transitionStatements` does (the same fields), so the region can answer a step with the row it
 * leaves in D1 without reading it back.
 */
export function rowAfter(row: JobRowOf, entries: readonly OutboxEntry[]): JobRowOf {
  let out = row;
  for (const entry of entries) {
    if (entry.kind !== "transition" || entry.jobId !== row.id) continue;
    out = { ...out, ...entry.patch, status: entry.status, reason: entry.reason, updatedAt: entry.at };
  }
  return out;
}

/** A job's change of status: its row, and the event (recorded once, however often it is sent). */
export function transitionStatements(
  db: LedgerDb,
  entry: OutboxEntry & { kind: "transition" },
): LedgerStatement[] {
  return [
    db
      .update(jobs)
      .set({ ...entry.patch, status: entry.status, reason: entry.reason, updatedAt: entry.at })
      .where(eq(jobs.id, entry.jobId)),
    db
      .insert(jobEvents)
      .values({
        jobId: entry.jobId,
        seq: entry.seq,
        status: entry.status,
        reason: entry.reason,
        attemptId: entry.attemptId,
        nodeId: entry.nodeId,
        at: entry.at,
      })
      .onConflictDoNothing(),
  ];
}

/** A job's row as its region needs it to queue a job admitted before the region took it. */
export async function admittedRow(
  db: LedgerDb,
  jobId: string,
): Promise<{ status: string; spec: JobSpec; createdAt: number } | undefined> {
  const row = await db
    .select({ status: jobs.status, spec: jobs.spec, createdAt: jobs.createdAt })
    .from(jobs)
    .where(eq(jobs.id, jobId))
    .get();
  return row ? { status: row.status, spec: row.spec as JobSpec, createdAt: row.createdAt } : undefined;
}
