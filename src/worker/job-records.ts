import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { type JobRow, jobs } from "../../schema/tables.js";
import { MeridianError } from "../shared/errors.js";
import { idPattern } from "../shared/ids.js";

const JOB_ID = idPattern("job");

/** The caller's job, or a 404 that does not reveal whether another account has one by that id. */
export async function ownJob(database: D1Database, accountId: string, jobId: string): Promise<JobRow> {
  const row = JOB_ID.test(jobId)
    ? await drizzle(database)
        .select()
        .from(jobs)
        .where(and(eq(jobs.id, jobId), eq(jobs.accountId, accountId)))
        .get()
    : undefined;
  if (!row) throw new MeridianError(404, "job_not_found", `no job ${jobId.slice(0, 64)}`);
  return row;
}
