import { afterAll, describe, expect, it } from "vitest";
import { dockerAvailable } from "../support/docker.js";
import { prng } from "../support/prng.js";
import { lostAttempts, lostToBlinks, type Outage } from "./blink-losses.js";
import { dumpLogs } from "./chaos-logs.js";
import { chaosEnabled, chaosSettings } from "./chaos-settings.js";
import { CHAOS_TIMING, RestartableAgent, RestartablePlane, Scratch } from "./fault-fleet.js";
import { type FlowJob, FlowUser, judge } from "./job-flow.js";
import { auditMoney, d1File } from "./stored-state.js";

const settings = chaosSettings();
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The suite's own steps, timed like the processes' logs, to line them up. */
const mark = (what: string) => console.log(`${new Date().toISOString().slice(11, 23)} chaos: ${what}`);

async function until(
  what: string,
  check: () => Promise<boolean>,
  ms: number,
  detail: () => string,
  more: () => Promise<string> = async () => "",
) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`gave up after ${ms} ms waiting for ${what}\n${await more()}\n${detail()}`);
    await pause(1_000);
  }
}

// A stream of faults over the real parts while jobs flow: several agents (separate processes, on
// the local Docker engine) each SIGKILLed and started again at random, and wrangler dev itself
// SIGKILLed and started again on the same --persist-to state, mid-flow. Afterwards every job must
// have ended in its own outcome, the ledger must hold one settlement per ended attempt with nothing
// charged for the node's faults and balances summing to zero, and no container may be left.
describe.skipIf(!chaosEnabled() || !dockerAvailable("chaos: agent and control-plane kills"))(
  "kills while jobs flow",
  () => {
    const scratch = new Scratch();
    const agents: RestartableAgent[] = [];
    let plane: RestartablePlane | undefined;

    // Generous: at load the agents' drains and the removal of every job network take minutes.
    afterAll(async () => {
      // Every process's output, kept whatever failed (a check that threw as well as an assertion).
      if (plane !== undefined)
        dumpLogs(
          settings.seed,
          plane.output(),
          agents.map((a) => a.output()),
        );
      try {
        await Promise.all(agents.map((agent) => agent.process.kill("SIGTERM", 20_000)));
        await plane?.dispose();
      } finally {
        await scratch.dispose(agents.map((agent) => agent.nodeId));
      }
    }, 300_000);

    it(
      `${settings.jobs} jobs through ${settings.agents} agents killed at random and ${settings.planeKills} control-plane kills`,
      async () => {
        const random = prng(settings.seed);
        const started = Date.now();
        const cp = await RestartablePlane.start(CHAOS_TIMING);
        plane = cp;
        for (let i = 0; i < settings.agents; i++) {
          agents.push(new RestartableAgent(cp.url, await scratch.dir(`agent${i}`)));
        }
        for (const agent of agents) await agent.registered();
        const users = await Promise.all([0, 1, 2].map(() => FlowUser.signup(cp.url)));
        const detail = () =>
          `seed ${settings.seed}; full logs in ${dumpLogs(
            settings.seed,
            cp.output(),
            agents.map((a) => a.output()),
          )}\n--- control plane:\n${cp.output().slice(-2_000)}\n` +
          agents.map((a, i) => `--- agent ${i} (${a.nodeId}):\n${a.output().slice(-1_500)}`).join("\n");

        // The flow: jobs submitted in small bursts, mostly exiting 0, every eighth exiting 3.
        const flow: FlowJob[] = Array.from({ length: settings.jobs }, (_, i) => ({
          key: `chaos-${settings.seed}-${i}`,
          exitCode: i % 8 === 7 ? 3 : 0,
          id: "",
        }));
        const owner = (i: number) => users[i % users.length] ?? users[0];
        // The faults, one at a time: agent kills all along, a control-plane kill at each planned point.
        const planeKillsAt = Array.from({ length: settings.planeKills }, (_, k) =>
          Math.floor(((k + 1) * flow.length) / (settings.planeKills + 1)),
        );
        let agentKills = 0;
        let planeKills = 0;
        let restoredWithoutRestart = 0;
        /** Each control-plane outage: from its SIGKILL until every agent was online again. */
        const planeOutages: Outage[] = [];
        // The flow waits for the planned faults, so each is made while jobs are still coming: at a
        // control-plane kill's point until it was made, and before the last burst until the least
        // number of agent kills were. (Without it a slow agent restart let the whole flow through
        // before any control-plane kill.)
        const faultsDue = (i: number): boolean => {
          const point = planeKillsAt[planeKills];
          if (point !== undefined && i >= point) return true;
          return settings.agentKills && i + 5 >= flow.length && agentKills < settings.minAgentKills;
        };
        let submitted = 0;
        const submitting = (async () => {
          for (let i = 0; i < flow.length; i += 5) {
            while (faultsDue(i)) await pause(250);
            await Promise.all(
              flow
                .slice(i, i + 5)
                .map((job, j) => owner(i + j)?.submit(job, 200 + Math.floor(random() * 1_300))),
            );
            submitted = Math.min(flow.length, i + 5);
            await pause(settings.submitGapMs);
          }
        })();

        while (submitted < flow.length) {
          const next = planeKillsAt[planeKills];
          if (next !== undefined && submitted >= next) {
            const pids = agents.map((agent) => agent.process.pid);
            mark(`control plane SIGKILL ${planeKills + 1} (${submitted} submitted)`);
            const outage = { from: Date.now(), to: Number.POSITIVE_INFINITY };
            planeOutages.push(outage);
            await cp.crash();
            planeKills += 1;
            await pause(500 + Math.floor(random() * 2_000));
            await cp.restart();
            mark("control plane answers again");
            // The agents were not touched: each must find the control plane again by itself.
            await until(
              "every agent to be online again after the control plane restarted",
              async () => {
                const res = await users[0]?.request("/v1/nodes");
                if (res?.status !== 200) return false;
                const { nodes } = (await res.json()) as { nodes: { id: string; status: string }[] };
                return agents.every((a) => nodes.some((n) => n.id === a.nodeId && n.status === "online"));
              },
              60_000,
              detail,
            );
            outage.to = Date.now();
            mark("every agent online again");
            if (agents.every((agent, i) => agent.process.pid === pids[i] && agent.process.running))
              restoredWithoutRestart += 1;
            continue;
          }
          const victim = agents[Math.floor(random() * agents.length)];
          if (victim === undefined) break;
          if (!settings.agentKills) {
            await pause(500);
            continue;
          }
          mark(`agent ${victim.nodeId} SIGKILL`);
          await victim.crash();
          agentKills += 1;
          // Back after the reconnect window (its attempts lost, placed again, settled at 0) and back
          // within it (its containers re-adopted), in turn, so even the 2-kill ci profile has both.
          const down = agentKills % 2 === 1 ? 6_000 + random() * 3_000 : 300 + random() * 1_500;
          await pause(down);
          await victim.restart();
          mark(`agent ${victim.nodeId} registered again`);
          await pause(settings.faultGapMs * (0.5 + random()));
        }
        await submitting;
        const flowDone = Date.now();
        mark("every job submitted");

        // Every job ends, in its own outcome.
        let verdict = judge(flow, []);
        await until(
          "every job to end",
          async () => {
            verdict = judge(flow, (await Promise.all(users.map((u) => u.jobs()))).flat());
            return verdict.pending.length === 0 && verdict.missing.length === 0;
          },
          settings.settleMs,
          () =>
            `${JSON.stringify(verdict.byStatus)} pending ${verdict.pending.map((j) => j.id).join(" ")}\n${detail()}`,
          async () => {
            const first = verdict.pending.slice(0, 3);
            const traces = await Promise.all(
              first.map(async (job) => (await Promise.all(users.map((u) => u.trace(job.id)))).join("")),
            );
            const reasons = verdict.pending
              .slice(0, 10)
              .map((job) => `${job.id} ${job.status}: ${job.reason}`);
            const nodes = await (await users[0]?.request("/v1/nodes"))?.text();
            return `${reasons.join("\n")}\n${traces.join("\n")}\nnodes: ${nodes}`;
          },
        );
        expect(verdict.missing, detail()).toEqual([]);
        expect(verdict.unexpected, "a retried submit made a second job").toEqual([]);
        expect(verdict.wrong, detail()).toEqual([]);
        expect(verdict.total).toBe(settings.jobs);

        // The ledger: one settlement per ended attempt, no leg twice, the node's faults free, Σ = 0.
        const file = await d1File(cp.state);
        let money = await auditMoney(file);
        await until(
          "every ended attempt to be settled",
          async () => {
            money = await auditMoney(file);
            return money.unsettled.length === 0 && money.endedAttempts >= settings.jobs;
          },
          60_000,
          () => JSON.stringify(money),
        );
        expect(money.settlements).toBe(money.endedAttempts);
        expect(money.orphanSettlements).toEqual([]);
        expect(money.doubleLegs).toBe(0);
        expect(money.chargedForNodeFaults).toBe(0);
        expect(money.balanceSum).toBe(0);

        // No container is left that no attempt owns: the agents remove what ended, or was superseded.
        await until(
          "the agents to remove every finished container",
          async () => agents.every((agent) => agent.containers().length === 0),
          60_000,
          () => agents.map((a) => `${a.nodeId}: ${a.containers().join(" ")}`).join("\n"),
        );
        expect(restoredWithoutRestart).toBe(planeKills);
        // The control plane's own restarts cost the nodes nothing: none is left expelled (score
        // 0), and no attempt live across a blink was lost unless its own agent was killed in its
        // life (faults come one at a time, so no agent is killed during a plane outage): running
        // containers outlived every blink of the control plane. Without agent kills, no attempt
        // was lost at all.
        const nodes = await (await users[0]?.request("/v1/nodes"))?.json();
        const reputations = (nodes as { nodes: { id: string; reputation: number }[] }).nodes
          .filter((n) => agents.some((a) => a.nodeId === n.id))
          .map((n) => n.reputation);
        expect(
          reputations.every((r) => r > 0),
          `node reputations ${reputations.join(", ")}`,
        ).toBe(true);
        const lost = await lostAttempts(file);
        const acrossBlinks = lost.filter((a) =>
          planeOutages.some((o) => a.assignedAt <= o.to && a.endedAt >= o.from),
        );
        const blinkLosses = lostToBlinks(
          lost,
          planeOutages,
          new Map(agents.map((a) => [a.nodeId, a.outages])),
        );
        expect(blinkLosses, `lost across a control-plane outage ${JSON.stringify(planeOutages)}`).toEqual([]);
        if (!settings.agentKills) expect(money.outcomes.lost ?? 0, JSON.stringify(money.outcomes)).toBe(0);
        expect(planeKills).toBe(settings.planeKills);
        expect(agentKills).toBeGreaterThanOrEqual(settings.minAgentKills);

        const logs = dumpLogs(
          settings.seed,
          cp.output(),
          agents.map((a) => a.output()),
        );
        console.log(
          `chaos kills: logs in ${logs}; seed ${settings.seed}, ${settings.jobs} jobs (${JSON.stringify(verdict.byStatus)}), ` +
            `${agentKills} agent SIGKILLs, ${planeKills} control-plane SIGKILLs (agents reconnected by themselves ` +
            `${restoredWithoutRestart}/${planeKills}), attempts ${money.endedAttempts} ` +
            `(${JSON.stringify(money.outcomes)}), settlements ${money.settlements}, double legs ${money.doubleLegs}, ` +
            `charged ${money.chargedMicros} µUSD in all, charged for node faults ${money.chargedForNodeFaults}, ` +
            `ledger Σ ${money.balanceSum}, jobs lost 0, attempts lost across a control-plane outage ` +
            `${acrossBlinks.length} (all on an agent killed in their life; to the blinks 0), ` +
            `orphan containers 0; flow ${Math.round((flowDone - started) / 1000)} s, ` +
            `all settled ${Math.round((Date.now() - started) / 1000)} s`,
        );
      },
      settings.testTimeoutMs,
    );
  },
);
