import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
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

// `npm start` (scripts/start.mjs) stopped the ways a user stops it, with wrangler dev, a real agent
// and a real container: it stops in order and leaves nothing behind.
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

    it("npm start killed outright leaves nothing running and starts again; Ctrl-C drains the agent, then stops wrangler", async () => {
      const options = {
        port: await freePort(),
        stateDir: await folder("state"),
        agentDir: await folder("agent"),
        chainPort: await freePort(),
        chainDir: await folder("chain"),
      };
      const first = new LocalNetwork(options);
      networks.push(first);
      nodeId = await first.ready();
      const started = first.processes();
      expect(started.length).toBeGreaterThan(3);

      // SIGKILL to the script alone: its children watch it, and stop.
      first.signal("SIGKILL");
      await until("wrangler and the agent to stop after npm start died", () => !anyAlive(started), first);
      expect(await portFree(options.port)).toBe(true);

      const second = new LocalNetwork(options);
      networks.push(second);
      expect(await second.ready()).toBe(nodeId);
      const user = await UserClient.signup(second.url);
      const job = await user.submit({
        name: "interrupted",
        image: TEST_IMAGE,
        command: ["sleep", "120"],
        resources: { cpus: 0.5, memoryGb: 0.25 },
      });
      await user.waitFor(job.id, (j) => j.status === "running", 60_000);
      const running = second.processes();
      expect(containersLabelled(`meridian.node=${nodeId}`)).toHaveLength(1);

      // Ctrl-C: the agent drains first (its container stopped, reported, removed), then wrangler.
      second.signal("SIGINT");
      expect(await second.exited).toEqual({ code: 0, signal: null });
      const out = second.output();
      const stopAgent = out.indexOf("[start] stopping agent");
      const drained = out.indexOf("shutting down: stopping 1 running attempt(s)");
      const stopWrangler = out.indexOf("[start] stopping wrangler");
      expect(stopAgent, out).toBeGreaterThan(-1);
      expect(drained, out).toBeGreaterThan(stopAgent);
      expect(stopWrangler, out).toBeGreaterThan(drained);
      expect(alive(running)).toEqual([]);
      expect(containersLabelled(`meridian.node=${nodeId}`)).toEqual([]);
    }, 300_000);
  },
);
