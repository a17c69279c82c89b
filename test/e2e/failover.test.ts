import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type AgentHandle, startAgent } from "../../src/agent/agent.js";
import type { AgentLog } from "../../src/agent/agent-log.js";
import type { JobEventView, JobView } from "../../src/shared/api.js";
import { AgentProcess, containersLabelled, removeContainersLabelled } from "../support/agent-process.js";
import { collectingLog } from "../support/collecting-log.js";
import { type ControlPlane, startControlPlane } from "../support/control-plane.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { eventually } from "../support/eventually.js";
import { FAST_FAILOVER } from "../support/fast-timing.js";
import { PartitionProxy } from "../support/partition-proxy.js";
import { UserClient } from "../support/user-client.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

function attemptContainers(attemptId: string): string[] {
  return containersLabelled(`meridian.attempt=${attemptId}`);
}

/** The distinct attempt ids the job's transitions name, in the order they first appear. */
function attemptIdsOf(events: JobEventView[]): string[] {
  return [...new Set(events.map((e) => e.attemptId).filter((id): id is string => id !== null))];
}

function describeEvents(events: JobEventView[]): string {
  return events
    .map((e) => `${e.seq} ${e.status} ${e.attemptId ?? "-"} ${e.nodeId ?? "-"} ${e.reason ?? ""}`)
    .join("\n");
}

// Faults with the real parts: `wrangler dev` with the protocol's timing shortened, real agents (one
// a separate process that is SIGKILLed) and real containers on the local Docker engine.
describe.skipIf(!dockerAvailable("end-to-end failover: wrangler dev + agents + Docker"))(
  "failover end to end",
  () => {
    let plane: ControlPlane;
    let user: UserClient;
    const dirs: string[] = [];
    const nodeIds: string[] = [];
    const processes: AgentProcess[] = [];
    const agents: AgentHandle[] = [];
    const proxies: PartitionProxy[] = [];

    const dataDir = async (): Promise<string> => {
      const dir = await mkdtemp(path.join(tmpdir(), "meridian-failover-"));
      dirs.push(dir);
      return dir;
    };

    const inProcessAgent = async (
      controlPlane: string,
      log: AgentLog,
    ): Promise<{ agent: AgentHandle; nodeId: string }> => {
      const agent = await startAgent({
        dataDir: await dataDir(),
        controlPlane,
        nvidiaSmi: "/nonexistent",
        log,
        stopGraceSeconds: 1,
      });
      agents.push(agent);
      const { nodeId } = await agent.registered;
      nodeIds.push(nodeId);
      return { agent, nodeId };
    };

    const runningOn = async (jobId: string, nodeId: string): Promise<JobView> => {
      const job = await user.waitFor(jobId, (j) => j.status === "running" || TERMINAL.has(j.status), 25_000);
      if (job.status !== "running" || job.nodeId !== nodeId)
        throw new Error(
          `expected job ${jobId} running on ${nodeId}, got ${job.status} on ${job.nodeId ?? "none"}`,
        );
      return job;
    };

    beforeAll(async () => {
      plane = await startControlPlane({ vars: FAST_FAILOVER });
      user = await UserClient.signup(plane.url);
    });

    // Each test's agents leave the region when it ends, pass or fail, so the next test places its
    // job where it means to. Proxies heal first: an agent cut off cannot finish draining.
    afterEach(async () => {
      for (const proxy of proxies.splice(0)) await proxy.stop();
      for (const agent of agents.splice(0)) {
        await Promise.race([
          agent.stop().catch(() => {}),
          new Promise((resolve) => setTimeout(resolve, 20_000)),
        ]);
      }
      for (const child of processes.splice(0)) await child.kill("SIGTERM", 10_000);
      for (const nodeId of nodeIds.splice(0)) removeContainersLabelled(`meridian.node=${nodeId}`);
    });

    afterAll(async () => {
      await plane?.stop();
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    });

    it("kill an agent mid-job: the job completes on another node, one attempt succeeds, the lost one is not billed", async () => {
      // The victim: an agent process of its own, alone in the region so the job lands on it.
      const victimDir = await dataDir();
      const victim = new AgentProcess({ controlPlane: plane.url, dataDir: victimDir });
      processes.push(victim);
      const victimNode = await victim.registered();
      nodeIds.push(victimNode);

      const submitted = await user.submit({
        name: "survives-a-kill",
        image: TEST_IMAGE,
        command: ["sh", "-c", "sleep 3; echo done"],
        resources: { cpus: 0.5, memoryGb: 0.25 },
      });
      const first = await runningOn(submitted.id, victimNode);
      const lostAttempt = first.attemptId ?? "";
      expect(lostAttempt).not.toBe("");

      // The survivor joins the same (default) region; then the victim dies without a word.
      const survivorLog = collectingLog();
      const { nodeId: survivorNode } = await inProcessAgent(plane.url, survivorLog);
      await victim.kill("SIGKILL");
      expect(victim.running).toBe(false);
      // A killed agent stops nothing: its container is still there.
      expect(attemptContainers(lostAttempt)).toHaveLength(1);

      const finished = await user.waitFor(submitted.id, (j) => TERMINAL.has(j.status), 60_000, 200);
      const events = await user.events(submitted.id);
      const trace = describeEvents(events);
      expect(finished.status, trace).toBe("succeeded");
      expect(finished.exitCode).toBe(0);
      expect(finished.attempts, trace).toBe(2);
      expect(finished.nodeId, trace).toBe(survivorNode);

      const statuses = events.map((e) => e.status);
      const lostAt = statuses.indexOf("lost");
      expect(lostAt, trace).toBeGreaterThan(-1);
      expect(statuses.lastIndexOf("succeeded"), trace).toBeGreaterThan(lostAt);
      expect(
        statuses.filter((s) => s === "succeeded"),
        trace,
      ).toHaveLength(1);
      expect(events[lostAt]?.reason ?? "", trace).toContain(victimNode);
      // Noticed from the dropped held poll, not from a lapsed lease; placed again with no backoff.
      expect(events[lostAt]?.reason ?? "", trace).toBe(
        `connection to node ${victimNode} dropped and did not return within 2 s`,
      );
      expect(events[lostAt + 1]?.reason ?? "", trace).toBe("placing the job again after attempt 1 was lost");
      // Two distinct attempts: the lost one on the victim, the succeeded one on the survivor.
      const attempts = attemptIdsOf(events);
      expect(attempts, trace).toEqual([lostAttempt, finished.attemptId]);
      const succeeded = events.find((e) => e.status === "succeeded");
      expect(succeeded?.attemptId, trace).toBe(finished.attemptId);
      expect(succeeded?.nodeId, trace).toBe(survivorNode);
      expect(
        events.filter((e) => e.attemptId === lostAttempt && TERMINAL.has(e.status)),
        trace,
      ).toEqual([]);
      expect(await (await user.request(`/v1/jobs/${submitted.id}/logs`)).text()).toContain("done");

      // Billing: CPU work is priced per vCPU-hour, so the attempt that ran is charged; the lost one
      // is not, and the job's cost and the usage report agree on it.
      expect(finished.cost.chargedMicros).toBeGreaterThan(0);
      const { attempts: billed } = (await (
        await user.request(`/v1/jobs/${submitted.id}/attempts`)
      ).json()) as {
        attempts: { id: string; charge: { chargedMicros: number } | null }[];
      };
      expect(
        billed.find((a) => a.id === lostAttempt)?.charge?.chargedMicros ?? 0,
        JSON.stringify(billed),
      ).toBe(0);
      expect(billed.find((a) => a.id === finished.attemptId)?.charge?.chargedMicros).toBe(
        finished.cost.chargedMicros,
      );
      const from = new Date(Date.now() - 3_600_000).toISOString();
      const to = new Date(Date.now() + 60_000).toISOString();
      const usage = (await (await user.request(`/v1/usage?groupBy=job&from=${from}&to=${to}`)).json()) as {
        rows: { key: string; attempts: number; chargedMicros: number }[];
      };
      const row = usage.rows.find((r) => r.key === submitted.id);
      expect(row, JSON.stringify(usage)).toMatchObject({
        attempts: 2,
        chargedMicros: finished.cost.chargedMicros,
      });

      // The victim comes back with the same data dir (the same node): it clears what it left behind.
      const restarted = new AgentProcess({ controlPlane: plane.url, dataDir: victimDir });
      processes.push(restarted);
      expect(await restarted.registered()).toBe(victimNode);
      await eventually("the restarted victim to remove the lost attempt's container, and say so", () =>
        attemptContainers(lostAttempt).length === 0 &&
        /removed 1 the control plane no longer counts as its own/.test(restarted.output())
          ? true
          : undefined,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${restarted.output()}`);
      });
      // The job stays succeeded: the comeback resurrects nothing.
      expect((await user.job(submitted.id)).status).toBe("succeeded");
      expect(survivorLog.lines.join("\n")).toContain(finished.attemptId ?? "?");
    });

    it("partition an agent past the grace: the job is placed again, and the agent's late exit report is refused", async () => {
      // The partitioned agent reaches the control plane only through a proxy the test can cut.
      const proxy = new PartitionProxy(plane.url);
      proxies.push(proxy);
      await proxy.start();
      const cutLog = collectingLog();
      const { nodeId: cutNode } = await inProcessAgent(proxy.url, cutLog);

      // No output, so the only report the attempt still owes once its container exits is `exited`.
      const submitted = await user.submit({
        name: "survives-a-partition",
        image: TEST_IMAGE,
        command: ["sleep", "4"],
        resources: { cpus: 0.5, memoryGb: 0.25 },
      });
      const first = await runningOn(submitted.id, cutNode).catch(async (error: unknown) => {
        throw new Error(
          `${String(error)}\n${describeEvents(await user.events(submitted.id))}\n${cutLog.lines.join("\n")}`,
        );
      });
      const oldAttempt = first.attemptId ?? "";
      const { nodeId: otherNode } = await inProcessAgent(plane.url, collectingLog());

      proxy.partition();
      const finished = await user
        .waitFor(submitted.id, (j) => TERMINAL.has(j.status), 40_000, 200)
        .catch(async (error: unknown) => {
          throw new Error(
            `${String(error)}\n${describeEvents(await user.events(submitted.id))}\n${cutLog.lines.join("\n")}`,
          );
        });
      const events = await user.events(submitted.id);
      const trace = describeEvents(events);
      expect(finished.status, trace).toBe("succeeded");
      expect(finished.nodeId, trace).toBe(otherNode);
      expect(finished.attemptId, trace).not.toBe(oldAttempt);
      expect(attemptIdsOf(events), trace).toEqual([oldAttempt, finished.attemptId]);
      const lost = events.find((e) => e.status === "lost");
      expect(lost?.reason ?? "", trace).toContain(cutNode);
      // No reset reached the region (the cut holds requests, it never closes them), so the node is
      // taken for gone by silence: by the presence detector judging the quiet against the node's
      // rhythm, or, when a loaded machine made that rhythm irregular enough to widen its limit, by
      // the attempt's lease lapsing first. Which of the two fires first is timing; never a drop.
      // (The detector's own judgement is tested in test/region/node-presence.test.ts.)
      expect(lost?.reason ?? "", trace).toMatch(
        /^node node_\w+ (silent for [\d.]+ s, \d+× its usual gap|went silent; the attempt's lease expired)$/,
      );
      expect(lost?.reason ?? "", trace).not.toMatch(/dropped/);

      // Cut off, the agent still holds its attempt: the container exited and its report is stuck.
      const stuckReport = `/v1/agent/attempts/${oldAttempt}/report`;
      await eventually("the partitioned agent's exit report to be sent (and held by the cut)", () =>
        proxy.exchanges.some((x) => x.path === stuckReport && x.type === "exited" && x.held)
          ? true
          : undefined,
      );
      expect(attemptContainers(oldAttempt)).toHaveLength(1);

      proxy.heal();
      const refused = await eventually("the late exit report to be answered", () =>
        proxy.exchanges.find((x) => x.path === stuckReport && x.type === "exited" && x.status !== undefined),
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${cutLog.lines.join("\n")}`);
      });
      expect(refused).toMatchObject({ status: 409, code: "stale_lease" });
      expect(
        proxy.exchanges.filter((x) => x.path === stuckReport && x.status !== undefined && x.status < 300),
      ).toEqual(proxy.exchanges.filter((x) => x.path === stuckReport && x.type === "started"));
      await eventually("the old attempt's container to be removed", () =>
        attemptContainers(oldAttempt).length === 0 ? true : undefined,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${cutLog.lines.join("\n")}`);
      });
      expect(cutLog.lines.join("\n")).toMatch(new RegExp(`attempt ${oldAttempt}: no longer ours`));

      // The refused report changed nothing: the old attempt never ended the job.
      const after = await user.events(submitted.id);
      expect(
        after.filter((e) => e.attemptId === oldAttempt && TERMINAL.has(e.status)),
        describeEvents(after),
      ).toEqual([]);
      expect(after.filter((e) => e.status === "succeeded")).toHaveLength(1);
      expect((await user.job(submitted.id)).status).toBe("succeeded");
    });
  },
);
