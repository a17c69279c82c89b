import { drizzle } from "drizzle-orm/d1";
import { jobLogs } from "../../schema/tables.js";
import type { LogChunk } from "../shared/agent-protocol.js";

/** Stores a shipped batch of container output, merging neighbouring chunks of the same stream. */
export async function writeLogs(
  database: D1Database,
  jobId: string,
  attemptId: string,
  chunks: readonly LogChunk[],
): Promise<void> {
  const merged: LogChunk[] = [];
  for (const chunk of chunks) {
    const last = merged.at(-1);
    if (last && last.stream === chunk.stream) last.data += chunk.data;
    else merged.push({ ...chunk });
  }
  const db = drizzle(database);
  const [first, ...rest] = merged.map((chunk) =>
    db.insert(jobLogs).values({ jobId, attemptId, stream: chunk.stream, data: chunk.data, at: chunk.at }),
  );
  if (first) await db.batch([first, ...rest]);
}
