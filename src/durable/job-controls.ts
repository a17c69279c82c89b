import { MeridianError } from "../shared/errors.js";
import type { JobStatus } from "../shared/job-status.js";
import type { PauseTerms } from "./job-pause.js";
import type { RegionContext } from "./region-context.js";
import type { JobRecord } from "./region-records.js";

/** What a user does to a job the region holds: cancel it, pause it (job-pause.ts), resume it. */
export class JobControls {
  constructor(private readonly region: () => RegionContext) {}

  async cancel(jobId: string): Promise<{ status: JobStatus }> {
    const region = this.region();
    const job = this.held(region, jobId);
    if (job.status === "cancelled") return { status: job.status };
    region.state.cancel(job, Date.now());
    await region.save();
    return { status: "cancelled" };
  }

  /** Pauses a running job; the answer is its status now (still `running` while it stops). */
  async pause(jobId: string, terms: PauseTerms): Promise<{ status: JobStatus }> {
    const region = this.region();
    const job = this.held(region, jobId);
    region.state.pause(job, terms, Date.now());
    await region.save();
    return { status: job.status };
  }

  /** Queues a paused job again; it restores its checkpoint on whichever node takes it. */
  async resume(jobId: string): Promise<{ status: JobStatus }> {
    const region = this.region();
    const job = this.held(region, jobId);
    region.state.resume(job, Date.now());
    await region.save();
    return { status: job.status };
  }

  /** The Worker committed a checkpoint of this job (its size is what a pause keeps stored). */
  async checkpointStored(jobId: string, seq: number, bytes: number): Promise<void> {
    const region = this.region();
    region.state.checkpointStored(jobId, seq, bytes);
    await region.save();
  }

  /** A job the region no longer holds has ended (its record went to D1). */
  private held(region: RegionContext, jobId: string): JobRecord {
    const job = region.state.jobs.get(jobId);
    if (!job) throw new MeridianError(409, "job_finished", "the job has already ended");
    return job;
  }
}
