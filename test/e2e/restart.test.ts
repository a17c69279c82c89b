import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { JobEventView } from "../../src/shared/api.js";
import { containersLabelled, removeContainersLabelled } from "../support/agent-process.js";
import { freePort } from "../support/control-plane.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { alive, anyAlive, LocalNetwork, portFree } from "../support/local-network.js";
import { UserClient } from "../support/user-client.js";

/** Waits until `check` holds, or fails with `what` (and the network's output) after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, net: LocalNetwork, ms = 30_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline)
      throw new Error(`gave up after ${ms} ms waiting for ${what}:\n${net.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function trace(events: JobEventView[]): string {
  return events.map((e) => `${e.seq} ${e.status} ${e.attemptId ?? "-"} ${e.reason ?? ""}`).join("\n");
}

async function logsOf(user: UserClient, jobId: string): Promise<string> {
  return (await user.request(`/v1/jobs/${jobId}/logs`)).text();
}

const LINES = 30;
const EXPECTED = Array.from({ length: LINES }, (_, i) => `line ${i + 1}\n`).join("");

// `npm start` (scripts/start.mjs) with wrangler dev, a real agent and real containers, stopped the
// ways it gets stopped: the whole network killed outright mid-job and started again on the same
// state (the job completes once, its container taken up again, its output whole); Ctrl-C (the
// agent drains, the job is placed again at once, then wrangler stops); the script alone killed
// (what it started stops too, in the same order). Nothing is left running.
describe.skipIf(!dockerAvailable("end-to-end restarts: npm start + Docker"))(
  "restarting the local network",
  () => {
    const dirs: string[] = [];
    const networks: LocalNetwork[] = [];
    let nodeId = "";

    const folder = async (name: string): Promise<string> => {
      const dir = await mkdtemp(path.join(tmpdir(), `meridian-restart-${name}-`));
      dirs.push(dir);
      return dir;
    };

    afterAll(async () => {
      for (const net of networks) net.killAll();
      if (nodeId) removeContainersLabelled(`meridian.node=${nodeId}`);
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    });

    it("survives a kill of everything mid-job, drains on Ctrl-C, and stops with a killed npm start", async () => {
      const options = {
        port: await freePort(),
        stateDir: await folder("state"),
        agentDir: await folder("agent"),
        chainPort: await freePort(),
        chainDir: await folder("chain"),
      };
      const start = (): LocalNetwork => {
        const net = new LocalNetwork(options);
        networks.push(net);
        return net;
      };
      const nodeContainers = (): string[] => containersLabelled(`meridian.node=${nodeId}`);

      // 1. A job writing a line every 0.3 s; the whole network is SIGKILLed while it runs.
      const first = start();
      nodeId = await first.ready();
      const user = await UserClient.signup(first.url);
      const counted = await user.submit({
        name: "counts-through-a-crash",
        image: TEST_IMAGE,
        command: [
          "sh",
          "-c",
          `i=1; while [ $i -le ${LINES} ]; do echo "line $i"; i=$((i+1)); sleep 0.3; done`,
        ],
        resources: { cpus: 0.5, memoryGb: 0.25 },
      });
      await user.waitFor(counted.id, (j) => j.status === "running", 60_000);
      await until(
        "some of its output to be stored",
        async () => (await logsOf(user, counted.id)).includes("line 3\n"),
        first,
      );
      const firstRun = first.processes();
      first.killAll();
      await until("the killed network to be gone", () => !anyAlive(firstRun), first, 10_000);
      expect(nodeContainers()).toHaveLength(1);

      // 2. Started again on the same state: the agent takes the container up, the job completes once.
      const second = start();
      expect(await second.ready()).toBe(nodeId);
      const done = await user.waitFor(
        counted.id,
        (j) => j.status !== "running" && j.status !== "queued" && j.status !== "assigned",
        90_000,
      );
      const events = await user.events(counted.id);
      expect(done.status, trace(events)).toBe("succeeded");
      expect(done.attempts, trace(events)).toBe(1);
      expect(
        events.filter((e) => e.status === "succeeded"),
        trace(events),
      ).toHaveLength(1);
      expect(
        events.some((e) => e.status === "lost"),
        trace(events),
      ).toBe(false);
      expect(second.output()).toMatch(new RegExp(`attempt ${done.attemptId}: re-attached to container`));
      // Every line once, in order: none repeated from before the crash, none lost in it.
      expect(await logsOf(user, counted.id)).toBe(EXPECTED);
      await until("the finished container to be removed", () => nodeContainers().length === 0, second);

      // 3. Ctrl-C while a job runs: the agent drains first (the attempt reported stopped), then wrangler.
      const sleeper = await user.submit({
        name: "interrupted",
        image: TEST_IMAGE,
        command: ["sleep", "120"],
        resources: { cpus: 0.5, memoryGb: 0.25 },
      });
      const running = await user.waitFor(sleeper.id, (j) => j.status === "running", 60_000);
      const secondRun = second.processes();
      second.signal("SIGINT");
      expect(await second.exited).toEqual({ code: 0, signal: null });
      const out = second.output();
      const stopAgent = out.indexOf("[start] stopping agent");
      // The sleeper at least; the counted job's attempt may still be finishing its last report.
      const drained = out.search(/shutting down: stopping [12] running attempt\(s\)/);
      const stopWrangler = out.indexOf("[start] stopping wrangler");
      expect(stopAgent, out).toBeGreaterThan(-1);
      expect(drained, out).toBeGreaterThan(stopAgent);
      expect(stopWrangler, out).toBeGreaterThan(drained);
      expect(alive(secondRun)).toEqual([]);
      expect(nodeContainers()).toEqual([]);

      // 4. Next start: the interrupted job was placed again at once — no lease to lapse, nothing lost.
      const third = start();
      await third.ready();
      const afterDrain = await user.events(sleeper.id);
      const requeued = afterDrain.findIndex(
        (e) => e.status === "queued" && e.attemptId === running.attemptId && /shut down/.test(e.reason ?? ""),
      );
      expect(requeued, trace(afterDrain)).toBeGreaterThan(-1);
      expect(
        afterDrain.some((e) => e.status === "lost" || e.status === "failed"),
        trace(afterDrain),
      ).toBe(false);
      const again = await user.waitFor(sleeper.id, (j) => j.status === "running", 60_000);
      expect(again.attemptId).not.toBe(running.attemptId);

      // 5. npm start killed alone: the agent drains through wrangler, then wrangler stops; nothing is left.
      const thirdRun = third.processes();
      third.signal("SIGKILL");
      await until("everything npm start ran to stop after it died", () => !anyAlive(thirdRun), third, 60_000);
      expect(nodeContainers()).toEqual([]);
      expect(await portFree(options.port)).toBe(true);
    }, 400_000);
  },
);
