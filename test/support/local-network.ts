import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../..", import.meta.url));

export interface LocalNetworkOptions {
  port: number;
  /** wrangler's --persist-to folder: the local D1 and Durable Objects (kept across runs). */
  stateDir: string;
  /** The agent's data folder: its identity (kept across runs: the same node). */
  agentDir: string;
  /** The local Solana chain's port and state folder (free and private to the test). */
  chainPort: number;
  chainDir: string;
}

/**
 * `npm start` itself (scripts/start.mjs), run as a user runs it, so a test can stop it the ways a
 * user does: Ctrl-C (SIGINT), a SIGKILL of the script alone, or of the whole network at once.
 */
export class LocalNetwork {
  private readonly child: ChildProcess;
  private log = "";
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly options: LocalNetworkOptions) {
    this.child = spawn(process.execPath, ["scripts/start.mjs"], {
      cwd: REPO,
      env: {
        ...process.env,
        MERIDIAN_PORT: String(options.port),
        MERIDIAN_STATE_DIR: options.stateDir,
        MERIDIAN_AGENT_DATA_DIR: options.agentDir,
        MERIDIAN_CHAIN_PORT: String(options.chainPort),
        MERIDIAN_CHAIN_DIR: options.chainDir,
        // No GPU probing on a test host: the agent registers as a CPU node.
        MERIDIAN_NVIDIA_SMI: "/nonexistent",
        NO_COLOR: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const append = (chunk: Buffer): void => {
      this.log = this.log.length < 400_000 ? this.log + chunk.toString() : this.log.slice(-200_000);
    };
    this.child.stdout?.on("data", append);
    this.child.stderr?.on("data", append);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => resolve({ code, signal }));
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.options.port}`;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error("start.mjs did not start");
    return this.child.pid;
  }

  output(): string {
    return this.log;
  }

  /** Resolves with the node id once the agent registered; fails with the output after `ms`. */
  async ready(ms = 120_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const match = /registered with \S+ as node (\S+) in region/.exec(this.log);
      if (match?.[1]) return match[1];
      if (this.child.exitCode !== null) throw new Error(`npm start exited:\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`npm start was not ready within ${ms} ms:\n${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Every process the network runs now: the script, and each of its children's process groups. */
  processes(): number[] {
    const groups = childrenOf(this.pid);
    const members = groups.flatMap((group) => groupMembers(group));
    return [...new Set([...(this.child.exitCode === null ? [this.pid] : []), ...groups, ...members])];
  }

  /** SIGKILL to everything at once — the script, wrangler and workerd, the agent — as a power cut. */
  killAll(): void {
    const groups = childrenOf(this.pid);
    this.child.kill("SIGKILL");
    for (const group of groups) signal(-group, "SIGKILL");
  }

  signal(name: NodeJS.Signals): void {
    this.child.kill(name);
  }
}

/** Direct children of a process (each one leads a process group: start.mjs starts them detached). */
function childrenOf(pid: number): number[] {
  return pids(["-o", "pid=", "--ppid", String(pid)]);
}

function groupMembers(group: number): number[] {
  return pids(["-o", "pid=", "-g", String(group)]);
}

function pids(args: string[]): number[] {
  try {
    return execFileSync("ps", args, { encoding: "utf8" })
      .split("\n")
      .map((line) => Number(line.trim()))
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    // ps exits 1 when nothing matches.
    return [];
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Whether any of these processes still runs. */
export function anyAlive(pidsToCheck: readonly number[]): boolean {
  return alive(pidsToCheck).length > 0;
}

/** Those of these processes that still run, with their command lines (for failure messages). */
export function alive(pidsToCheck: readonly number[]): string[] {
  const out: string[] = [];
  for (const pid of pidsToCheck) {
    try {
      process.kill(pid, 0);
    } catch {
      continue;
    }
    let command = "?";
    try {
      command = execFileSync("ps", ["-o", "stat=,args=", "-p", String(pid)], { encoding: "utf8" }).trim();
    } catch {
      // Gone in between.
      continue;
    }
    // A zombie has ended; only its exit status is left for its parent to collect.
    if (!command.startsWith("Z")) out.push(`${pid} ${command}`);
  }
  return out;
}

/** Fails the wait once the local network's port is still taken after `ms`. */
export async function portFree(port: number, ms = 30_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      await fetch(`http://127.0.0.1:${port}/v1/health`, { signal: AbortSignal.timeout(1_000) });
    } catch {
      return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}
