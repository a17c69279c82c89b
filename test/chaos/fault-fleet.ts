import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { AgentProcess, containersLabelled, removeContainersLabelled } from "../support/agent-process.js";
import { type ControlPlane, freePort, freshState, startControlPlane } from "../support/control-plane.js";

/**
 * The protocol's timing shortened as in test/e2e/failover.test.ts, so a killed agent's lease lapses
 * in seconds: polls held 1 s, leases and the node grace 5 s, a sweep every second, a killed agent's
 * dropped connection given 2 s to come back. Two figures differ on purpose:
 * - The silence floor is 10 s, not 2 s. Kills are seen by their dropped connections; silence is for
 *   partitions. With a 2 s floor, healthy agents busy starting containers on a loaded 2-core
 *   machine (load 15–40) were taken for gone every few minutes (docs/RELIABILITY.md).
 * - A quarantine lasts 15 s and expulsion needs 1,000 of them: each agent is killed dozens of times
 *   in minutes, which should cost a real provider its place, but here the nodes must come back and
 *   take the flow (that a quarantined node does come back is part of what the suite proves).
 */
export const FAST_TIMING = {
  POLL_WAIT_MS: "1000",
  LEASE_TTL_MS: "5000",
  NODE_GRACE_MS: "5000",
  SWEEP_INTERVAL_MS: "1000",
  RECONNECT_WINDOW_MS: "2000",
  MIN_SILENCE_MS: "10000",
  REPUTATION_QUARANTINE_MS: "15000",
  REPUTATION_QUARANTINES_TO_EXPEL: "1000",
};

/** One host agent that can be SIGKILLed and started again on the same data folder: the same node. */
export class RestartableAgent {
  process: AgentProcess;
  nodeId = "";
  kills = 0;
  /** What the runs before the last crash printed. */
  private readonly earlier: string[] = [];

  constructor(
    readonly controlPlane: string,
    readonly dataDir: string,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {
    this.process = this.spawn();
  }

  private spawn(): AgentProcess {
    return new AgentProcess({ controlPlane: this.controlPlane, dataDir: this.dataDir, env: this.env });
  }

  async registered(): Promise<string> {
    this.nodeId = await this.process.registered(120_000);
    return this.nodeId;
  }

  async crash(): Promise<void> {
    this.kills += 1;
    await this.process.kill("SIGKILL");
    this.earlier.push(this.process.output());
  }

  /** Starts it again after a crash; fails if it comes back as another node. */
  async restart(): Promise<void> {
    this.process = this.spawn();
    const again = await this.process.registered(120_000);
    if (again !== this.nodeId) throw new Error(`agent came back as ${again}, not ${this.nodeId}`);
  }

  containers(): string[] {
    return this.nodeId ? containersLabelled(`meridian.node=${this.nodeId}`) : [];
  }

  output(): string {
    return [...this.earlier, this.process.output()].join("\n=== agent SIGKILLed and started again ===\n");
  }
}

/** wrangler dev on a fixed port and state folder, so it can be SIGKILLed and started again in place. */
export class RestartablePlane {
  plane: ControlPlane | undefined;
  kills = 0;
  /** What the runs before the last crash printed. */
  private readonly earlier: string[] = [];

  private constructor(
    readonly state: string,
    readonly port: number,
    private readonly vars: Record<string, string>,
  ) {}

  static async start(vars: Record<string, string>): Promise<RestartablePlane> {
    // One key across restarts, as a deployment's secret would be.
    const restartable = new RestartablePlane(await freshState(), await freePort(), {
      SECRETS_KEY: randomBytes(32).toString("hex"),
      ...vars,
    });
    await restartable.boot();
    return restartable;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async boot(): Promise<void> {
    this.plane = await startControlPlane({ state: this.state, port: this.port, vars: this.vars });
  }

  async crash(): Promise<void> {
    this.kills += 1;
    await this.plane?.kill();
    this.earlier.push(this.plane?.output() ?? "");
  }

  restart(): Promise<void> {
    return this.boot();
  }

  output(): string {
    return [...this.earlier, this.plane?.output() ?? ""].join(
      "\n=== control plane SIGKILLed and started again ===\n",
    );
  }

  async dispose(): Promise<void> {
    await this.plane?.stop();
    await rm(this.state, { recursive: true, force: true });
  }
}

/** Temporary folders, removed at the end; and the containers a test's nodes left, removed too. */
export class Scratch {
  private readonly dirs: string[] = [];

  async dir(name: string): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), `meridian-chaos-${name}-`));
    this.dirs.push(dir);
    return dir;
  }

  async dispose(nodeIds: readonly string[]): Promise<void> {
    for (const nodeId of nodeIds) if (nodeId) removeContainersLabelled(`meridian.node=${nodeId}`);
    for (const dir of this.dirs) await rm(dir, { recursive: true, force: true });
  }
}
