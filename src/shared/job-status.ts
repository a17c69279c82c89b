import { z } from "zod";

export const JobStatus = z.enum([
  "queued",
  "assigned",
  "running",
  // Stopped on its owner's request with its checkpoint kept; no GPU is held until it is resumed.
  "paused",
  "succeeded",
  "failed",
  "cancelled",
  "lost",
]);
export type JobStatus = z.infer<typeof JobStatus>;

const TERMINAL: ReadonlySet<JobStatus> = new Set(["succeeded", "failed", "cancelled", "lost"]);

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL.has(status);
}
