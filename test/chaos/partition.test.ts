import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { AgentNetns, netnsAvailable } from "../../bench/failover-netns.js";
import { containersLabelled } from "../support/agent-process.js";
import { dockerAvailable } from "../support/docker.js";
import { dumpLogs } from "./chaos-logs.js";
import { chaosEnabled } from "./chaos-settings.js";
import { CHAOS_TIMING, RestartableAgent, RestartablePlane, Scratch } from "./fault-fleet.js";
import { type FlowEvent, type FlowJob, FlowUser, isTerminal } from "./job-flow.js";
import { auditMoney, d1File } from "./stored-state.js";

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mark = (what: string) => console.log(`${new Date().toISOString().slice(11, 23)} partition: ${what}`);

async function until<T>(what: string, check: () => Promise<T | undefined>, ms: number, detail: () => string) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting for ${what}\n${detail()}`);
    await pause(1_000);
  }
}

/** Running containers of one attempt (the agent labels each with its attempt id). */
function running(attemptId: string): string[] {
  return containersLabelled(`meridian.attempt=${attemptId}`).filter((id) => {
    const out = execFileSync("docker", ["inspect", "-f", "{{.State.Running}}", id], { encoding: "utf8" });
    return out.trim() === "true";
  });
}

// A partition made inside the machine: one agent runs in its own network namespace and reaches the
// control plane over a veth pair; the partition drops every packet on that link (no reset, no
// close reaches either side). Its containers keep running under the host's Docker engine. Past the
// grace its attempts must be lost and placed again on the other node; when the link comes back,
// its late exit reports must be refused (the jobs end once, by the new attempts) and it must stop
// the superseded containers still running. The ledger then holds one settlement per attempt,
// nothing charged for the lost ones, and sums to zero.
const netns = process.env.CHAOS === "0" ? null : await netnsAvailable();
if (netns !== null)
  console.warn(`\n!!! SKIPPED test/chaos/partition: no network namespaces here (${netns}) !!!\n`);

// About 2.5 minutes: in `npm run test:chaos` (CHAOS_PROFILE full or soak), or with CHAOS_PARTITION=1.
const wanted = process.env.CHAOS_PARTITION === "1" || (process.env.CHAOS_PROFILE ?? "ci") !== "ci";
describe.skipIf(!wanted || !chaosEnabled() || netns !== null || !dockerAvailable("chaos: partitions"))(
  "a partition between an agent and the control plane",
  () => {
    const scratch = new Scratch();
    const agents: RestartableAgent[] = [];
    let plane: RestartablePlane | undefined;
    let link: AgentNetns | undefined;

    afterAll(async () => {
      try {
        await link?.heal().catch(() => undefined);
        await Promise.all(agents.map((agent) => agent.process.kill("SIGTERM", 20_000)));
        await plane?.dispose();
      } finally {
        await scratch.dispose(agents.map((agent) => agent.nodeId));
        await link?.destroy();
      }
    }, 120_000);

    it("replaces the cut-off agent's attempts, refuses its late reports, and it stops the superseded containers", async () => {
      const cp = await RestartablePlane.start(CHAOS_TIMING);
      plane = cp;
      const ns = new AgentNetns(200 + (process.pid % 50));
      link = ns;
      await ns.create(cp.port);
      // Its firewall rules would go into the namespace, not the host: they are tested on the host
      // itself (test/agent/container-isolation.test.ts). Here only the link matters.
      const cutDir = await scratch.dir("cut");
      await writeFile(
        path.join(cutDir, "config.json"),
        JSON.stringify({ controlPlane: ns.url, isolation: { firewall: "off" } }),
      );
      const cut = new RestartableAgent(ns.url, cutDir, {}, ns.wrap([]));
      agents.push(cut);
      await cut.registered();
      const user = await FlowUser.signup(cp.url);
      const detail = () =>
        `logs in ${dumpLogs(
          0,
          cp.output(),
          agents.map((a) => a.output()),
        )}\n--- cut agent:\n${cut.output().slice(-3_000)}`;

      // Two jobs still running when the link comes back (superseded: the agent must stop them),
      // submitted first, and two whose containers exit while it is down (their exit reports late).
      // The short ones must outlast the other agent's start-up and the cut (seed 1304, load 14-18:
      // that start-up took 21 s and 15 s jobs ended on the cut node before the cut).
      const jobs: (FlowJob & { sleepMs: number })[] = [90_000, 90_000, 40_000, 40_000].map((sleepMs, i) => ({
        key: `partition-${process.pid}-${i}`,
        exitCode: 0,
        id: "",
        sleepMs,
      }));
      for (const job of jobs) await user.submit(job, job.sleepMs);
      // Placed at submit on the one node there is: the other agent starts now, while the containers
      // start, so the cut comes as soon as both are ready.
      for (const view of await Promise.all(jobs.map((job) => user.job(job.id))))
        if (view.nodeId !== cut.nodeId) throw new Error(`job ${view.id} was not placed on the cut-off node`);
      const other = new RestartableAgent(cp.url, await scratch.dir("other"));
      agents.push(other);
      const seen = new Map<string, string>();
      await until(
        "every job to run on the agent that will be cut off",
        async () => {
          for (const view of await Promise.all(jobs.map((job) => user.job(job.id)))) {
            if (isTerminal(view.status))
              throw new Error(`job ${view.id} ended before the cut: ${view.status}`);
            if (view.status === "running" && view.nodeId === cut.nodeId && view.attemptId)
              seen.set(view.id, view.attemptId);
          }
          return seen.size === jobs.length ? true : undefined;
        },
        90_000,
        detail,
      );
      const oldAttempts = jobs.map((job) => seen.get(job.id) ?? "");
      const long = oldAttempts.slice(0, 2);
      const short = oldAttempts.slice(2);
      await other.registered();
      if (!oldAttempts.every((a) => running(a).length === 1))
        throw new Error(`a container ended before the cut (harness timing, not the product):\n${detail()}`);

      await ns.partition();
      mark(`link of ${cut.nodeId} cut`);
      const events = (): Promise<FlowEvent[][]> => Promise.all(jobs.map((job) => user.events(job.id)));
      await until(
        "every cut-off attempt to be lost and placed on the other node",
        async () => {
          const all = await events();
          return all.every((list) => list.some((e) => e.nodeId === other.nodeId)) ? all : undefined;
        },
        120_000,
        detail,
      );
      mark("every job placed again on the other node");
      // The short jobs' containers exited meanwhile: their exit reports wait behind the cut.
      await until(
        "the short jobs' containers to exit on the cut-off node",
        async () => (short.every((a) => running(a).length === 0) ? true : undefined),
        90_000,
        detail,
      );
      expect(long.map((a) => running(a).length)).toEqual([1, 1]);

      await ns.heal();
      mark("link healed");
      // Back, the agent learns its attempts are someone else's: the late exit reports are refused
      // (stale lease) and the superseded containers stopped and removed.
      await until(
        "the cut-off node to stop and remove every superseded container",
        async () => (cut.containers().length === 0 ? true : undefined),
        120_000,
        () => `${cut.containers().join(" ")}\n${detail()}`,
      );
      const log = cut.output();
      for (const attempt of oldAttempts)
        expect(log, detail()).toMatch(new RegExp(`attempt ${attempt}: no longer ours`));
      // A late exit report is refused (409 stale_lease) unless the first poll's stop order came first.
      const refused = short.filter((a) =>
        log.includes(`attempt ${a}: no longer ours (the control plane refused its fencing number)`),
      ).length;

      const ended = await until(
        "every job to end",
        async () => {
          const views = await Promise.all(jobs.map((job) => user.job(job.id)));
          return views.every((v) => isTerminal(v.status)) ? views : undefined;
        },
        240_000,
        detail,
      );
      const all = await events();
      for (const [i, view] of ended.entries()) {
        const trace = JSON.stringify(all[i]);
        expect(view.status, trace).toBe("succeeded");
        expect(view.nodeId, trace).toBe(other.nodeId);
        expect(view.attemptId, trace).not.toBe(oldAttempts[i]);
        // The old attempt ended nothing: its one terminal event is its loss; one success in all.
        expect(
          all[i]?.filter((e) => e.attemptId === oldAttempts[i] && isTerminal(e.status)),
          trace,
        ).toEqual([]);
        expect(
          all[i]?.filter((e) => e.status === "lost" && e.attemptId === oldAttempts[i]).length,
          trace,
        ).toBe(1);
        expect(all[i]?.filter((e) => e.status === "succeeded").length, trace).toBe(1);
      }

      const file = await d1File(cp.state);
      const money = await until(
        "every ended attempt to be settled",
        async () => {
          const audit = await auditMoney(file);
          return audit.unsettled.length === 0 && audit.endedAttempts >= 2 * jobs.length ? audit : undefined;
        },
        60_000,
        detail,
      );
      expect(money.settlements).toBe(money.endedAttempts);
      expect(money.outcomes, JSON.stringify(money)).toEqual({ lost: jobs.length, succeeded: jobs.length });
      expect(money.orphanSettlements).toEqual([]);
      expect(money.doubleLegs).toBe(0);
      expect(money.chargedForNodeFaults).toBe(0);
      expect(money.balanceSum).toBe(0);
      await until(
        "the other node to remove its finished containers",
        async () => (other.containers().length === 0 ? true : undefined),
        60_000,
        detail,
      );
      console.log(
        `chaos partition: ${jobs.length} attempts cut off, lost and placed again; ${refused} late reports refused (409), ` +
          `${jobs.length} superseded containers stopped; settlements ${JSON.stringify(money.outcomes)}, ` +
          `charged ${money.chargedMicros} µUSD in all, charged for node faults ${money.chargedForNodeFaults}, ` +
          `ledger Σ ${money.balanceSum}`,
      );
    }, 600_000);
  },
);
