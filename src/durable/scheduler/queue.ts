import { type Demand, WHOLE_GPU_MILLI } from "./demand.js";

/**
 * The region's waiting jobs and the order they are tried in: higher priority first; within a
 * priority, fair share across accounts (the account holding the least capacity, counting what it
 * is about to get, goes next, so one account's flood cannot starve the others); FIFO within an
 * account.
 */

export interface QueuedJob<T = undefined> {
  id: string;
  accountId: string;
  /** 0 (lowest) to 9 (highest). */
  priority: number;
  demand: Demand;
  /** The longest it runs once started (its timeout), in ms; backfill needs it to run ahead. */
  maxRunMs?: number | undefined;
  enqueuedAt: number;
  /** Whatever the caller wants back with a placement (the job record, for the Region object). */
  payload: T;
}

/** GPU-equivalents a job takes, in the same units as `allocationUnits`. */
export function demandUnits(demand: Demand): number {
  return demand.nodes * ((demand.gpus * demand.gpuMilli) / WHOLE_GPU_MILLI + demand.cpuMilli / 16_000);
}

export class JobQueue<T = undefined> {
  private readonly jobs = new Map<string, QueuedJob<T>>();

  /** Adds a job at the back of its priority and account; false when the id is already queued. */
  enqueue(job: QueuedJob<T>): boolean {
    if (this.jobs.has(job.id)) return false;
    this.jobs.set(job.id, job);
    return true;
  }

  remove(id: string): QueuedJob<T> | undefined {
    const job = this.jobs.get(id);
    this.jobs.delete(id);
    return job;
  }

  get(id: string): QueuedJob<T> | undefined {
    return this.jobs.get(id);
  }

  get size(): number {
    return this.jobs.size;
  }

  /**
   * All jobs in the order placement tries them. `usage` is what each account holds now, in
   * GPU-equivalents; each job an account is handed in this order counts against it for the next.
   */
  ordered(usage: (accountId: string) => number): QueuedJob<T>[] {
    // A Map iterates in insertion order, so each account's list is FIFO.
    const levels = new Map<number, Map<string, QueuedJob<T>[]>>();
    for (const job of this.jobs.values()) {
      let accounts = levels.get(job.priority);
      if (!accounts) {
        accounts = new Map();
        levels.set(job.priority, accounts);
      }
      const list = accounts.get(job.accountId);
      if (list) list.push(job);
      else accounts.set(job.accountId, [job]);
    }
    const order: QueuedJob<T>[] = [];
    const planned = new Map<string, number>();
    const held = (accountId: string): number => usage(accountId) + (planned.get(accountId) ?? 0);
    for (const priority of [...levels.keys()].sort((a, b) => b - a)) {
      const accounts = [...(levels.get(priority)?.entries() ?? [])].map(([accountId, list]) => ({
        accountId,
        list,
        next: 0,
      }));
      let remaining = accounts.reduce((sum, account) => sum + account.list.length, 0);
      while (remaining > 0) {
        let pick: (typeof accounts)[number] | undefined;
        for (const account of accounts) {
          const head = account.list[account.next];
          if (!head) continue;
          if (!pick) {
            pick = account;
            continue;
          }
          const pickHead = pick.list[pick.next];
          const diff = held(account.accountId) - held(pick.accountId);
          if (diff < 0 || (diff === 0 && pickHead && head.enqueuedAt < pickHead.enqueuedAt)) pick = account;
        }
        const job = pick?.list[pick.next];
        if (!pick || !job) break;
        pick.next++;
        remaining--;
        order.push(job);
        planned.set(pick.accountId, (planned.get(pick.accountId) ?? 0) + demandUnits(job.demand));
      }
    }
    return order;
  }
}
