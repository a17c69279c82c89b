import { storageChargeMicros } from "../ledger/storage-charge.js";
import { MeridianError } from "../shared/errors.js";
import type { Staging } from "./effects.js";
import type { JobBook } from "./job-book.js";
import type { JobRecord } from "./region-records.js";

/** What a pause request carries from the Worker: the deployment's policy applied to the request. */
export interface PauseTerms {
  expiresAt: number;
  storageMicrosPerGbMonth: number;
}

/** The reason a paused job that was never resumed ends with. */
export const PAUSE_EXPIRED = "paused_expired";

/**
 * Pausing and resuming a job. A pause stops every member the way a cancel does (SIGTERM, the
 * grace period, the agent's last checkpoint sync), but the job stays in the region: once no member
 * runs, its GPUs are free and it is `paused`, its checkpoint billed per GB-month until it is
 * resumed (queued again, for any node that fits), cancelled, or expires.
 */
export class JobPauses {
  constructor(private readonly parts: { book: JobBook; staging: Staging }) {}

  request(job: JobRecord, terms: PauseTerms, now: number): void {
    if (job.service)
      throw new MeridianError(
        409,
        "job_is_replica",
        "an endpoint's replica scales with its endpoint; it cannot be paused",
      );
    if (job.status === "paused") throw new MeridianError(409, "job_paused", "the job is paused already");
    // Asked again while its members are still stopping: the first request stands.
    if (job.pause) return;
    if (job.status !== "running") {
      throw new MeridianError(
        409,
        "job_not_running",
        `only a running job can be paused; this one is ${job.status}`,
      );
    }
    if (!job.spec.checkpoint) {
      throw new MeridianError(
        422,
        "no_checkpoint",
        "the job has no checkpoint folder, so a pause would lose its work: set spec.checkpoint, or cancel it",
      );
    }
    job.pause = { requestedAt: now, since: null, ...terms };
    for (const member of job.members) {
      if (member.endedAt !== null) continue;
      member.stopping = "paused";
      this.parts.staging.wake(member.nodeId);
    }
    this.parts.book.transition(
      job,
      "running",
      "pausing: the container was sent SIGTERM to write its checkpoint",
      now,
      {},
    );
  }

  /** True while the job's members stop for a pause (or once it is paused). */
  pausing(job: JobRecord): boolean {
    return job.pause !== undefined;
  }

  /** Its last member stopped: the GPUs are free and storage billing starts. */
  stopped(job: JobRecord, now: number): void {
    const pause = job.pause;
    if (!pause || pause.since !== null) return;
    pause.since = now;
    job.pauses = (job.pauses ?? 0) + 1;
    const kept = job.checkpoint
      ? `checkpoint ${job.checkpoint.seq} (${job.checkpoint.bytes} bytes)`
      : "no checkpoint was committed; a resume starts from zero, and it";
    this.parts.book.transition(
      job,
      "paused",
      `paused by the user; ${kept} is kept until ${new Date(pause.expiresAt).toISOString()}`,
      now,
      {},
    );
    job.members = [];
    this.parts.book.stage(job);
  }

  resume(job: JobRecord, now: number): void {
    if (job.status !== "paused") {
      if (job.pause)
        throw new MeridianError(
          409,
          "job_pausing",
          "the job is still writing its checkpoint; resume it once it is paused",
        );
      throw new MeridianError(
        409,
        "job_not_paused",
        `only a paused job can be resumed; this one is ${job.status}`,
      );
    }
    this.end(job, now);
    const from = job.checkpoint ? `checkpoint ${job.checkpoint.seq}` : "the start (no checkpoint was kept)";
    this.parts.book.transition(
      job,
      "queued",
      `resumed by the user; any node that fits may take it, restoring from ${from}`,
      now,
      { nodeId: null, attemptId: null, assignedAt: null, startedAt: null },
    );
    this.parts.book.enqueue(job);
  }

  /** The pause is over (resumed, cancelled, expired): the storage it held is charged up to `until`. */
  end(job: JobRecord, until: number): void {
    const pause = job.pause;
    job.pause = undefined;
    this.parts.book.stage(job);
    if (!pause || pause.since === null) return;
    const bytes = job.checkpoint?.bytes ?? 0;
    const toMs = Math.max(pause.since, until);
    // The platform bills what it keeps: a checkpoint in the user's own S3 bucket is their provider's.
    const price = job.spec.checkpoint?.s3 ? 0 : pause.storageMicrosPerGbMonth;
    const amountMicros = storageChargeMicros(bytes, pause.since, toMs, price);
    this.parts.staging.record({
      kind: "storage-charge",
      charge: {
        accountId: job.accountId,
        jobId: job.id,
        key: `storage:${job.id}:${pause.since}`,
        bytes,
        fromMs: pause.since,
        toMs,
        amountMicros,
      },
      at: toMs,
    });
  }

  /** Paused jobs kept past their time end, cancelled, their storage charged to the expiry. */
  expire(now: number): void {
    for (const job of [...this.parts.book.jobs.values()]) {
      const pause = job.pause;
      if (job.status !== "paused" || !pause || pause.expiresAt > now) continue;
      const days = Math.round((pause.expiresAt - (pause.since ?? pause.requestedAt)) / 86_400_000);
      this.end(job, pause.expiresAt);
      this.parts.book.transition(
        job,
        "cancelled",
        `${PAUSE_EXPIRED}: paused for ${days} day(s) without a resume`,
        now,
        { endedAt: now },
      );
      this.parts.book.dequeue(job.id);
      this.parts.book.forget(job, now);
    }
  }

  /** When the earliest paused job expires, or null. */
  nextExpiry(): number | null {
    let next: number | null = null;
    for (const job of this.parts.book.jobs.values()) {
      if (job.status !== "paused" || !job.pause) continue;
      next = next === null ? job.pause.expiresAt : Math.min(next, job.pause.expiresAt);
    }
    return next;
  }
}
