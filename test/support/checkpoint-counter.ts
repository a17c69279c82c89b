import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { AgentProcess, removeContainersLabelled } from "./agent-process.js";
import { type ControlPlane, startControlPlane } from "./control-plane.js";
import { TEST_IMAGE } from "./docker.js";
import { UserClient } from "./user-client.js";

/**
 * What the checkpoint e2e tests share (migration after a killed agent, pause and resume): a control
 * plane whose leases lapse in seconds, agents started and cleaned up on demand, and a job that
 * counts to N keeping its count in the checkpoint folder.
 */

// Leases lapse in seconds rather than a deployment's 45 s (as in the failover tests).
export const CHECKPOINT_TIMING = {
  POLL_WAIT_MS: "1000",
  LEASE_TTL_MS: "5000",
  NODE_GRACE_MS: "5000",
  SWEEP_INTERVAL_MS: "1000",
};

/**
 * Counts to `n`, one a second, keeping the count in the checkpoint folder (written then renamed, so
 * a sync never sees half a file); on start it resumes from whatever count it finds there. SIGTERM
 * (a pause) ends it after the current second, its count already in the folder.
 */
export function counterScript(n: number, firstHoldsAt?: number): string {
  return [
    "trap 'echo stopping; exit 143' TERM",
    'dir="$MERIDIAN_CHECKPOINT_DIR"; i=0',
    '[ -f "$dir/count" ] && i=$(cat "$dir/count")',
    'echo "resumed=$MERIDIAN_RESUMED start=$i"',
    `limit=${n}`,
    // With `firstHoldsAt`, a first (not resumed) attempt counts that far and then waits there, so it
    // is still mid-job whenever the test kills its node, however late a loaded machine commits the
    // first checkpoint: the resumed attempt can never start at the end.
    ...(firstHoldsAt === undefined ? [] : [`[ "$MERIDIAN_RESUMED" = 1 ] || limit=${firstHoldsAt}`]),
    `while [ "$i" -lt "$limit" ]; do i=$((i+1)); echo "$i" > "$dir/count.tmp" && mv "$dir/count.tmp" "$dir/count"; echo "count $i"; sleep 1; done`,
    `while [ "$i" -lt ${n} ]; do sleep 1; done`,
    'echo "$i" > /outputs/result.txt; echo "final=$i"',
  ].join("; ");
}

/** The counting job's spec; `firstHoldsAt`: see counterScript. */
export function counterSpec(
  n: number,
  extra: Record<string, unknown> = {},
  firstHoldsAt?: number,
): Record<string, unknown> {
  return {
    name: "counter",
    image: TEST_IMAGE,
    command: ["sh", "-c", counterScript(n, firstHoldsAt)],
    resources: { cpus: 0.5, memoryGb: 0.25 },
    checkpoint: { path: "/meridian/checkpoint", intervalSeconds: 10 },
    outputs: [{ path: "/outputs" }],
    maxRetries: 2,
    ...extra,
  };
}

export async function eventually<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface TestAgentProcess {
  process: AgentProcess;
  node: string;
}

/** A control plane, a user, and agents started on demand; `close` stops and removes all of it. */
export class CheckpointRig {
  private readonly dirs: string[] = [];
  private readonly agents: AgentProcess[] = [];
  private readonly nodes: string[] = [];

  private constructor(
    readonly plane: ControlPlane,
    readonly user: UserClient,
  ) {}

  static async start(): Promise<CheckpointRig> {
    const plane = await startControlPlane({ vars: { ...CHECKPOINT_TIMING, REQUIRE_VERIFIED_GPUS: "false" } });
    return new CheckpointRig(plane, await UserClient.signup(plane.url));
  }

  async agent(): Promise<TestAgentProcess> {
    const dataDir = await mkdtemp(path.join(tmpdir(), "meridian-agent-"));
    this.dirs.push(dataDir);
    const process = new AgentProcess({ controlPlane: this.plane.url, dataDir });
    this.agents.push(process);
    const node = await process.registered();
    this.nodes.push(node);
    return { process, node };
  }

  /** The job's logs, every attempt's, as the API serves them. */
  async logs(jobId: string): Promise<string> {
    return (await this.user.request(`/v1/jobs/${jobId}/logs`)).text();
  }

  async close(): Promise<void> {
    for (const agent of this.agents) await agent.kill("SIGTERM", 10_000);
    for (const node of this.nodes) removeContainersLabelled(`meridian.node=${node}`);
    await this.plane?.stop();
    for (const dir of this.dirs) await rm(dir, { recursive: true, force: true });
  }
}
