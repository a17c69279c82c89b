import { and, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { jobLogs } from "../../schema/tables.js";
import type { LogOffsets } from "../shared/agent-protocol.js";

/**
 * How many bytes (UTF-8) of each stream of an attempt's output are stored: where a re-attached
 * agent resumes the container's output, so no line is stored twice or lost.
 */
export async function storedLogOffsets(
  database: D1Database,
  jobId: string,
  attemptId: string,
): Promise<LogOffsets> {
  const rows = await drizzle(database)
    .select({
      stream: jobLogs.stream,
      bytes: sql<number>`coalesce(sum(length(cast(${jobLogs.data} as blob))), 0)`,
    })
    .from(jobLogs)
    .where(and(eq(jobLogs.jobId, jobId), eq(jobLogs.attemptId, attemptId)))
    .groupBy(jobLogs.stream);
  const offsets: LogOffsets = { stdout: 0, stderr: 0 };
  for (const row of rows)
    if (row.stream === "stdout" || row.stream === "stderr") offsets[row.stream] = row.bytes;
  return offsets;
}
