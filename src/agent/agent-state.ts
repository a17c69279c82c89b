import { rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { DataFolderHealth } from "./data-folder.js";

export const STATE_FILE = "state.json";

/**
 * What the running agent knows that `meridian-agent status` shows without asking the control plane:
 * its registration, whether it takes work, the attempts it runs, and the last verdict per GPU.
 * Written by the agent, read by the status command; informational only, never read back to decide.
 */
export const AgentState = z.object({
  pid: z.number().int(),
  updatedAt: z.number(),
  nodeId: z.string().optional(),
  region: z.string().optional(),
  registeredAt: z.number().optional(),
  acceptingWork: z.boolean().optional(),
  running: z.array(z.object({ jobId: z.string(), attemptId: z.string(), image: z.string() })).default([]),
  verification: z
    .record(
      z.string(),
      z.object({
        challengeId: z.string(),
        model: z.string(),
        outcome: z.string(),
        tflops: z.number().optional(),
        bandwidthGBps: z.number().optional(),
        reasons: z.array(z.string()).default([]),
        at: z.number(),
      }),
    )
    .default({}),
});
export type AgentState = z.infer<typeof AgentState>;

export class AgentStateFile {
  private state: AgentState;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly dataDir: string,
    private readonly now: () => number,
    /** Hears every write's outcome: a failed write is logged and reported, not swallowed. */
    private readonly health?: Pick<DataFolderHealth, "wrote" | "failed">,
  ) {
    this.state = { pid: process.pid, updatedAt: now(), running: [], verification: {} };
  }

  update(change: (state: AgentState) => void): void {
    change(this.state);
    this.state.updatedAt = this.now();
    const text = `${JSON.stringify(this.state, null, 2)}\n`;
    const path = join(this.dataDir, STATE_FILE);
    // Serialised and renamed into place, so a reader never sees half a file or an older write last.
    this.writing = this.writing
      .then(async () => {
        const temporary = `${path}.${process.pid}.tmp`;
        await writeFile(temporary, text, { mode: 0o600 });
        await rename(temporary, path);
        this.health?.wrote();
      })
      .catch((error: unknown) => {
        this.health?.failed(error);
        // The reader keeps the last whole file; the half-written temporary would only take space.
        return rm(`${path}.${process.pid}.tmp`, { force: true }).catch(() => undefined);
      });
  }

  flushed(): Promise<void> {
    return this.writing;
  }
}
