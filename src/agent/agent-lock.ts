import { readFileSync } from "node:fs";
import { open, readFile, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

/** The lock file in an agent's data folder: one agent per identity. */
export const LOCK_FILE = "agent.lock";

interface LockOwner {
  pid: number;
  host: string;
  startedAt: number;
  /** The process's start time in clock ticks since boot (Linux), so a reused pid is not mistaken for it. */
  processStart?: number;
}

export class AgentLockError extends Error {
  readonly code = "agent_running";
  constructor(
    readonly dataDir: string,
    readonly owner: LockOwner,
  ) {
    super(
      `another agent (pid ${owner.pid}, started ${new Date(owner.startedAt).toISOString()}) is running ` +
        `with the data folder ${dataDir}: one agent per identity. Stop it first, or give this agent ` +
        "a data folder of its own (--data-dir); copying a node's key to a second host is not supported.",
    );
    this.name = "AgentLockError";
  }
}

export interface AgentLock {
  readonly path: string;
  release(): Promise<void>;
}

/**
 * Takes the data folder's lock, or throws AgentLockError naming the live agent that holds it. A
 * lock left by a process that no longer runs (killed, crashed, a reboot) is taken over.
 */
export async function acquireAgentLock(dataDir: string): Promise<AgentLock> {
  const path = join(dataDir, LOCK_FILE);
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    startedAt: Date.now(),
    processStart: processStartOf(process.pid),
  };
  // Twice at most: a stale lock is removed once, then the exclusive create must win.
  for (let tries = 0; tries < 2; tries++) {
    try {
      const handle = await open(path, "wx", 0o600);
      await handle.writeFile(`${JSON.stringify(me)}\n`);
      await handle.close();
      return { path, release: () => releaseIfOurs(path) };
    } catch (error) {
      if (!isCode(error, "EEXIST")) throw error;
    }
    const owner = await readOwner(path);
    if (owner !== undefined && holds(owner)) throw new AgentLockError(dataDir, owner);
    await unlink(path).catch((error: unknown) => {
      if (!isCode(error, "ENOENT")) throw error;
    });
  }
  const owner = await readOwner(path);
  throw owner === undefined
    ? new Error(`could not take the lock ${path}`)
    : new AgentLockError(dataDir, owner);
}

/** Whether the recorded process still runs (on this host; a lock from another host is honoured). */
function holds(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true;
  if (!isAlive(owner.pid)) return false;
  if (owner.processStart === undefined) return true;
  const start = processStartOf(owner.pid);
  return start === undefined || start === owner.processStart;
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const value: unknown = JSON.parse(await readFile(path, "utf8"));
    if (
      typeof value === "object" &&
      value !== null &&
      "pid" in value &&
      typeof value.pid === "number" &&
      "host" in value &&
      typeof value.host === "string" &&
      "startedAt" in value &&
      typeof value.startedAt === "number"
    ) {
      const processStart =
        "processStart" in value && typeof value.processStart === "number" ? value.processStart : undefined;
      return { pid: value.pid, host: value.host, startedAt: value.startedAt, processStart };
    }
  } catch {
    // Unreadable or half-written (a crash between create and write): nobody holds it.
  }
  return undefined;
}

async function releaseIfOurs(path: string): Promise<void> {
  const owner = await readOwner(path);
  if (owner?.pid !== process.pid) return;
  await unlink(path).catch(() => {});
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isCode(error, "EPERM");
  }
}

/** Field 22 of /proc/<pid>/stat; undefined off Linux. The command name (field 2) may hold spaces. */
function processStartOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

function isCode(error: unknown, code: string): boolean {
  return typeof error === "object" && error !== null && "code" in error && error.code === code;
}
