/**
 * The trials of bench:failover, over a running local stack: real agents, each in a network
 * namespace of its own (failover-netns.ts), real containers on the Docker engine.
 *
 * A trial keeps two agents ready, submits a long job, waits for it to run, then faults the node it
 * runs on — SIGKILL of the agent process, or a partition of its link — and reads the job's events
 * for when the attempt was lost, when the job was placed again on the other node, and when it was
 * running there. Times are measured from the fault, on this machine's one clock (the events carry
 * the Region object's timestamps). A faulted node is retired after its trial, so no node is faulted
 * twice (a node that drops repeatedly is quarantined by design, which would change what is measured).
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { CONFIG_FILE } from "../src/agent/agent-config.js";
import type { JobEventView } from "../src/shared/api.js";
import { AgentProcess, removeContainersLabelled } from "../test/support/agent-process.js";
import { TEST_IMAGE } from "../test/support/docker.js";
import type { UserClient } from "../test/support/user-client.js";
import { AgentNetns } from "./failover-netns.js";

export type Fault = "kill" | "partition";

export interface TrialResult {
  fault: Fault;
  /** Fault → the attempt marked lost; → placed on the other node; → running there (ms). */
  lostMs: number;
  placedMs: number;
  runningMs: number;
  reason: string;
  /** The job's events after the fault, kept when the start elsewhere took over 5 s (why it was slow). */
  slowStart?: string;
}

export interface BenchAgent {
  ns: AgentNetns;
  process: AgentProcess;
  node: string;
  dataDir: string;
}

/** Starts, tracks and retires the bench's agents; each gets a namespace and a fresh identity. */
export class AgentPool {
  private next = 1;
  readonly live: BenchAgent[] = [];

  constructor(private readonly upstreamPort: number) {}

  /** `link` shapes the agent's link before it starts (a slow link is slow from the first byte). */
  async start(args: string[] = [], link?: (ns: AgentNetns) => void): Promise<BenchAgent> {
    const ns = new AgentNetns(this.next++);
    await ns.create(this.upstreamPort);
    link?.(ns);
    const dataDir = await mkdtemp(path.join(tmpdir(), "meridian-bench-failover-"));
    // The job firewall's rules go into the host's DOCKER-USER chain, which iptables inside the
    // namespace cannot see; the bench measures failover, not isolation, so it runs without them.
    await writeFile(
      path.join(dataDir, CONFIG_FILE),
      JSON.stringify({ controlPlane: ns.url, isolation: { firewall: "off" } }),
      { mode: 0o600 },
    );
    const process = new AgentProcess({ controlPlane: ns.url, dataDir, args, wrap: ns.wrap([]) });
    const agent = { ns, process, node: "", dataDir };
    this.live.push(agent);
    agent.node = await process.registered(90_000);
    return agent;
  }

  /** Ends the agent, its namespace, its containers and its data folder. */
  async retire(agent: BenchAgent, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const at = this.live.indexOf(agent);
    if (at >= 0) this.live.splice(at, 1);
    await agent.ns.heal().catch(() => undefined);
    await agent.process.kill(signal, 15_000);
    if (agent.node) removeContainersLabelled(`meridian.node=${agent.node}`);
    await agent.ns.destroy();
    await rm(agent.dataDir, { recursive: true, force: true });
  }

  async retireAll(): Promise<void> {
    for (const agent of [...this.live]) await this.retire(agent);
  }
}

async function eventsOf(user: UserClient, jobId: string): Promise<JobEventView[]> {
  const res = await user.request(`/v1/jobs/${jobId}/events`);
  if (res.status !== 200) throw new Error(`events answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { events: JobEventView[] }).events;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * One trial: two agents ready (the survivor of the last trial and a fresh one), a job running on
 * one of them, the fault, and the times read back from the job's events.
 */
export async function runTrial(
  pool: AgentPool,
  user: UserClient,
  fault: Fault,
  timeoutMs: number,
): Promise<TrialResult> {
  while (pool.live.length < 2) await pool.start();
  const job = await user.submit({
    name: `failover-${fault}`,
    image: TEST_IMAGE,
    command: ["sleep", "900"],
    resources: { cpus: 0.25, memoryGb: 0.125 },
    maxRetries: 3,
  });
  try {
    const running = await until("the job to run", 60_000, async () => {
      const view = await user.job(job.id);
      return view.status === "running" && view.nodeId ? view : undefined;
    }).catch(async (error: unknown) => {
      const view = await user.job(job.id);
      throw new Error(`${String(error)} (${view.status}: ${view.reason ?? "no reason"})`);
    });
    const victim = pool.live.find((agent) => agent.node === running.nodeId);
    if (!victim) throw new Error(`the job runs on ${running.nodeId}, not on one of the bench's agents`);
    // Both agents settle into their idle rhythm (held polls, open presence sockets) first.
    await sleep(1_500);
    const faultAt = Date.now();
    if (fault === "kill") await victim.process.kill("SIGKILL");
    else await victim.ns.partition();
    const events = await until(`the job running on another node after the ${fault}`, timeoutMs, async () => {
      const list = await eventsOf(user, job.id);
      return list.some((e) => e.status === "running" && e.nodeId !== null && e.nodeId !== victim.node)
        ? list
        : undefined;
    }).catch(async (error: unknown) => {
      // What the job went through says why (a start that failed on the loaded host, a retry limit …).
      const trace = (await eventsOf(user, job.id))
        .map((e) => `${e.at} ${e.status} ${e.nodeId ?? "-"} ${e.reason ?? ""}`)
        .join("; ");
      throw new Error(`${String(error)} — events: ${trace}`);
    });
    const after = (status: string, other: boolean): JobEventView | undefined =>
      events.find(
        (e) =>
          e.status === status &&
          Date.parse(e.at) >= faultAt - 1_000 &&
          (!other || (e.nodeId !== null && e.nodeId !== victim.node)),
      );
    const lost = after("lost", false);
    const placed = after("assigned", true);
    const again = after("running", true);
    if (!lost || !placed || !again) throw new Error(`incomplete events: ${JSON.stringify(events)}`);
    await pool.retire(victim);
    const slow = Date.parse(again.at) - Date.parse(placed.at) > 5_000;
    return {
      fault,
      lostMs: Date.parse(lost.at) - faultAt,
      placedMs: Date.parse(placed.at) - faultAt,
      runningMs: Date.parse(again.at) - faultAt,
      reason: lost.reason ?? "",
      ...(slow && {
        slowStart: events
          .filter((e) => Date.parse(e.at) >= faultAt - 1_000)
          .map((e) => `${e.at} ${e.status} ${e.nodeId ?? "-"} ${e.reason ?? ""}`)
          .join("; "),
      }),
    };
  } finally {
    await user.request(`/v1/jobs/${job.id}/cancel`, { method: "POST" }).catch(() => undefined);
  }
}
