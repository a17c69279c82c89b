import type { AttemptRecord } from "./region-records.js";

/**
 * Where each live attempt is: the job it belongs to, the jobs each node holds an attempt of, and
 * when each attempt's lease lapses. Memory only: it is rebuilt from the job records at start, and
 * leases restart with a fresh grace period then (renewals are never written).
 */
export class AttemptIndex {
  readonly leases = new Map<string, number>();
  private readonly attemptJob = new Map<string, string>();
  private readonly nodeJobs = new Map<string, Set<string>>();

  add(jobId: string, member: AttemptRecord, leaseUntil: number): void {
    this.attemptJob.set(member.id, jobId);
    this.leases.set(member.id, leaseUntil);
    let set = this.nodeJobs.get(member.nodeId);
    if (!set) {
      set = new Set();
      this.nodeJobs.set(member.nodeId, set);
    }
    set.add(jobId);
  }

  remove(jobId: string, member: AttemptRecord): void {
    this.leases.delete(member.id);
    this.attemptJob.delete(member.id);
    this.nodeJobs.get(member.nodeId)?.delete(jobId);
  }

  jobIdOf(attemptId: string): string | undefined {
    return this.attemptJob.get(attemptId);
  }

  /** The nodes that hold a live attempt now. */
  nodesWithAttempts(): string[] {
    return [...this.nodeJobs].filter(([, jobs]) => jobs.size > 0).map(([nodeId]) => nodeId);
  }

  /** The jobs with an attempt on the node; a copy, so callers may change the index while walking it. */
  jobIdsOn(nodeId: string): string[] {
    return [...(this.nodeJobs.get(nodeId) ?? [])];
  }
}
