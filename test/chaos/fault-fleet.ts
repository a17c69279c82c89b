import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { AgentProcess, containersLabelled, removeContainersLabelled } from "../support/agent-process.js";
import { type ControlPlane, freePort, freshState, startControlPlane } from "../support/control-plane.js";

/**
 * The protocol's timing is a deployment's (src/durable/lease.ts, wrangler.toml): polls held 20 s,
 * leases and the node grace 45 s, a sweep every 5 s, a dropped connection given 5 s to come back.
 * Killed agents are found by their dropped connections (poll and presence socket), so a kill longer
 * than the reconnect window still loses its attempts within seconds; the long lease only keeps a
 * live agent's attempts through a slow stretch. An earlier version shortened leases to 5 s, as
 * test/e2e/failover.test.ts does to time failover; on the shared 2-core machine (load 40-70) live
 * agents' next polls then came 6-14 s after an assignment and their attempts were lost over and over
 * (docs/RELIABILITY.md): the suite measured the machine's load, not the product. Three figures differ:
 * - The silence floor is 10 s, not 5 s: kills are seen by their dropped connections; silence is for
 *   partitions, and loaded agents busy starting containers were taken for gone with a short floor.
 * - A quarantine lasts 15 s and expulsion needs 1,000 of them: each agent is killed dozens of times
 *   in minutes, which should cost a real provider its place, but here the nodes must come back and
 *   take the flow (that a quarantined node does come back is part of what the suite proves).
 */
export const CHAOS_TIMING = {
  MIN_SILENCE_MS: "10000",
  REPUTATION_QUARANTINE_MS: "15000",
  REPUTATION_QUARANTINES_TO_EXPEL: "1000",
};

/** One host agent that can be SIGKILLed and started again on the same data folder: the same node. */
export class RestartableAgent {
  process: AgentProcess;
  nodeId = "";
  kills = 0;
  /** Each time it was down: from its SIGKILL until it had registered again (ms since the epoch). */
  readonly outages: { from: number; to: number }[] = [];
  /** What the runs before the last crash printed. */
  private readonly earlier: string[] = [];

  constructor(
    readonly controlPlane: string,
    readonly dataDir: string,
    private readonly env: NodeJS.ProcessEnv = {},
    /** A command it runs under, e.g. `ip netns exec <ns>` (partition.test.ts). */
    private readonly wrap: string[] = [],
  ) {
    this.process = this.spawn();
  }

  private spawn(): AgentProcess {
    return new AgentProcess({
      controlPlane: this.controlPlane,
      dataDir: this.dataDir,
      env: this.env,
      timestamps: true,
      wrap: this.wrap,
    });
  }

  async registered(): Promise<string> {
    this.nodeId = await this.process.registered(120_000);
    return this.nodeId;
  }

  async crash(): Promise<void> {
    this.kills += 1;
    this.outages.push({ from: Date.now(), to: Number.POSITIVE_INFINITY });
    await this.process.kill("SIGKILL");
    this.earlier.push(this.process.output());
  }

  /** Starts it again after a crash; fails if it comes back as another node. */
  async restart(): Promise<void> {
    this.process = this.spawn();
    const again = await this.process.registered(120_000);
    if (again !== this.nodeId) throw new Error(`agent came back as ${again}, not ${this.nodeId}`);
    const outage = this.outages.at(-1);
    if (outage) outage.to = Date.now();
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
      REGION_SIGNING_SEED: randomBytes(32).toString("hex"),
      ...vars,
    });
    await restartable.boot();
    return restartable;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  private async boot(): Promise<void> {
    this.plane = await startControlPlane({
      state: this.state,
      port: this.port,
      vars: this.vars,
      timestamps: true,
    });
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
