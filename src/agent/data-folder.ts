import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AgentLog } from "./agent-log.js";
import { errorMessage } from "./agent-log.js";

const PROBE_FILE = ".write-probe";
/** A page's worth: on a full filesystem (tmpfs included) even one byte needs a free block. */
const PROBE_BYTES = 4096;

/** The words a provider and a user read when the agent's data folder cannot be written. */
export function dataFolderProblem(dir: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") {
    return `the node's data folder ${dir} is full (${code}: no space left on the device); the node could not start the attempt`;
  }
  return `the node's data folder ${dir} cannot be written (${code ?? errorMessage(error)}); the node could not start the attempt`;
}

/**
 * Whether the agent can write its data folder (its state file, the attempts' data). A failed
 * write is logged once when it starts failing and once when it works again, never swallowed:
 * before each attempt the agent probes the folder, and an attempt it cannot hold is reported as
 * the node's own error (`errorKind: "runtime"`), which the region counts against the node.
 */
export class DataFolderHealth {
  private problem: string | undefined;

  constructor(
    readonly dir: string,
    private readonly log: AgentLog,
  ) {}

  /** The current problem in words, or undefined when the folder takes writes. */
  get current(): string | undefined {
    return this.problem;
  }

  /** Writes and removes a small file; the problem in words when the folder refuses it. */
  async probe(): Promise<string | undefined> {
    const path = join(this.dir, PROBE_FILE);
    try {
      await writeFile(path, Buffer.alloc(PROBE_BYTES), { mode: 0o600 });
      this.wrote();
    } catch (error) {
      this.failed(error);
    } finally {
      await rm(path, { force: true }).catch(() => undefined);
    }
    return this.problem;
  }

  /** A write to the folder worked. */
  wrote(): void {
    if (this.problem === undefined) return;
    this.problem = undefined;
    this.log.info(`the data folder ${this.dir} takes writes again`);
  }

  /** A write to the folder failed with `error`. */
  failed(error: unknown): void {
    const problem = dataFolderProblem(this.dir, error);
    if (problem !== this.problem) this.log.error(`${problem}: ${errorMessage(error)}`);
    this.problem = problem;
  }
}
