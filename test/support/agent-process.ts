import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { lineStamper } from "./line-stamper.js";

const AGENT_BIN = fileURLToPath(new URL("../../bin/meridian-agent.mjs", import.meta.url));

export interface AgentProcessOptions {
  controlPlane: string;
  dataDir: string;
  /** Extra flags for `meridian-agent start` (e.g. `--region`, `--label`). */
  args?: string[];
  /** A command the agent runs under, e.g. `ip netns exec <ns>` (it must exec its argument, so signals reach the agent). */
  wrap?: string[];
  /** Extra environment (e.g. DOCKER_HOST for another engine). */
  env?: NodeJS.ProcessEnv;
  /** Prefix each line of its output with the wall-clock time (the chaos suite's logs). */
  timestamps?: boolean;
}

/**
 * A host agent run as its own process, as a provider runs it (`node bin/meridian-agent.mjs`), so a
 * test can kill it the hard way: SIGKILL leaves its containers running, as a crash or a power cut
 * would.
 */
export class AgentProcess {
  private readonly child: ChildProcess;
  private log = "";
  readonly exited: Promise<number | null>;

  constructor(options: AgentProcessOptions) {
    const [command, ...prefix] = [...(options.wrap ?? []), process.execPath];
    this.child = spawn(
      command ?? process.execPath,
      [
        ...prefix,
        AGENT_BIN,
        "start",
        "--control-plane",
        options.controlPlane,
        "--data-dir",
        options.dataDir,
        ...(options.args ?? []),
      ],
      {
        // No GPU probing on a test host: it registers as a CPU node.
        env: { ...process.env, MERIDIAN_NVIDIA_SMI: "/nonexistent", NO_COLOR: "1", ...options.env },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const stamp = options.timestamps ? lineStamper() : (text: string) => text;
    const append = (chunk: Buffer): void => {
      this.log += stamp(chunk.toString());
    };
    this.child.stdout?.on("data", append);
    this.child.stderr?.on("data", append);
    this.exited = new Promise((resolve) => {
      if (this.child.exitCode !== null) resolve(this.child.exitCode);
      else this.child.once("exit", (code) => resolve(code));
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything it printed, for assertions and failure messages. */
  output(): string {
    return this.log;
  }

  /** Resolves with the node id once it printed its registration; fails (with its output) after `ms`. */
  async registered(ms = 60_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const match = /registered with \S+ as node (\S+) in region/.exec(this.log);
      if (match?.[1]) return match[1];
      if (!this.running) throw new Error(`the agent exited before it registered:\n${this.log}`);
      if (Date.now() > deadline) throw new Error(`the agent did not register within ${ms} ms:\n${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Sends the signal and waits (up to `ms`) for the process to end; SIGKILL if it has not. */
  async kill(signal: NodeJS.Signals, ms = 20_000): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), ms)),
    ]);
    if (timedOut && this.running) {
      this.child.kill("SIGKILL");
      await this.exited;
    }
  }
}

/** Ids of the containers (running or not) carrying this Docker label, e.g. `meridian.node=<id>`. */
export function containersLabelled(label: string): string[] {
  const out = execFileSync("docker", ["ps", "-aq", "--filter", `label=${label}`], { encoding: "utf8" });
  return out.split("\n").filter(Boolean);
}

/**
 * Force-removes every container carrying the label, then the job networks carrying it and their
 * firewall rules: what a killed agent left behind. A node id is never reused by a later test, so
 * no restarted agent would ever sweep them (src/agent/job-network.ts sweeps only its own node's),
 * and leaked bridges kept their rules alive: thousands of them made every iptables call slow.
 */
export function removeContainersLabelled(label: string): void {
  const ids = containersLabelled(label);
  if (ids.length > 0) execFileSync("docker", ["rm", "-f", ...ids], { stdio: "pipe" });
  const networks = lines(
    execFileSync("docker", ["network", "ls", "-q", "--filter", `label=${label}`], { encoding: "utf8" }),
  );
  if (networks.length === 0) return;
  const bridges = lines(
    execFileSync(
      "docker",
      ["network", "inspect", "--format", '{{index .Options "com.docker.network.bridge.name"}}', ...networks],
      { encoding: "utf8" },
    ),
  );
  try {
    execFileSync("docker", ["network", "rm", ...networks], { stdio: "pipe" });
  } catch (error) {
    // Cleanup must not fail a test; a network still in use keeps its rules until its bridge goes.
    console.warn(`could not remove job networks labelled ${label}: ${String(error).split("\n")[0]}`);
    return;
  }
  for (const bridge of bridges) removeFirewallRules(`meridian:${bridge}`);
}

/** Deletes the INPUT and DOCKER-USER rules with this comment (src/agent/host-firewall.ts tags them so). */
function removeFirewallRules(comment: string): void {
  for (const chain of ["INPUT", "DOCKER-USER"]) {
    let listing: string;
    try {
      listing = execFileSync("iptables", ["-w", "-S", chain], { encoding: "utf8", stdio: "pipe" });
    } catch {
      return; // no iptables here, or not allowed: the agent installed no rules either
    }
    for (const rule of lines(listing)) {
      if (!rule.startsWith("-A ") || (!rule.includes(`"${comment}"`) && !rule.includes(` ${comment} `)))
        continue;
      const words = rule
        .slice(3)
        .split(/\s+/)
        .map((word) => word.replace(/^"|"$/g, ""));
      try {
        execFileSync("iptables", ["-w", "-D", ...words], { stdio: "pipe" });
      } catch {
        // already gone (another cleanup raced us)
      }
    }
  }
}

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
}
