import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobEventView } from "../../src/shared/api.js";
import type { OutputView } from "../../src/shared/storage/agent-storage-protocol.js";
import { AgentProcess, removeContainersLabelled } from "../support/agent-process.js";
import { type ControlPlane, startControlPlane } from "../support/control-plane.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { UserClient } from "../support/user-client.js";

// A deployment's lease (45 s) and poll hold (20 s): only the presence signal can move the job in
// the time this test waits, so the resume below is the failover path of a dropped connection, not
// a lapsed lease. The reconnect window is shortened to 2 s.
const TIMING = { RECONNECT_WINDOW_MS: "2000", REQUIRE_VERIFIED_GPUS: "false" };
const N = 30;

// Counts to N, one a second, keeping the count in the checkpoint folder (written then renamed);
// on start it resumes from whatever count it finds there. The first attempt holds at N / 2 until
// its node dies, so it is killed halfway even when the first checkpoint commits late on a loaded
// machine (it once resumed at 30 of 30 so).
const COUNTER = [
  'dir="$MERIDIAN_CHECKPOINT_DIR"; i=0',
  '[ -f "$dir/count" ] && i=$(cat "$dir/count")',
  'echo "resumed=$MERIDIAN_RESUMED start=$i"',
  `limit=${N}; [ "$MERIDIAN_RESUMED" = 1 ] || limit=${N / 2}`,
  `while [ "$i" -lt "$limit" ]; do i=$((i+1)); echo "$i" > "$dir/count.tmp" && mv "$dir/count.tmp" "$dir/count"; echo "count $i"; sleep 1; done`,
  `while [ "$i" -lt ${N} ]; do sleep 1; done`,
  'echo "$i" > /outputs/result.txt; echo "final=$i"',
].join("; ");

async function eventually<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe.skipIf(!dockerAvailable("failover with a checkpoint: wrangler dev + R2 + agents + Docker"))(
  "failover from a dropped connection resumes from the checkpoint",
  () => {
    let plane: ControlPlane;
    let user: UserClient;
    const dirs: string[] = [];
    const agents: AgentProcess[] = [];
    const nodes: string[] = [];

    beforeAll(async () => {
      plane = await startControlPlane({ vars: TIMING });
      user = await UserClient.signup(plane.url);
    }, 180_000);

    afterAll(async () => {
      for (const agent of agents) await agent.kill("SIGTERM", 10_000);
      for (const node of nodes) removeContainersLabelled(`meridian.node=${node}`);
      await plane?.stop();
      for (const dir of dirs) await rm(dir, { recursive: true, force: true });
    });

    async function agent(): Promise<{ process: AgentProcess; node: string }> {
      const dataDir = await mkdtemp(path.join(tmpdir(), "meridian-agent-"));
      dirs.push(dataDir);
      const process = new AgentProcess({ controlPlane: plane.url, dataDir });
      agents.push(process);
      const node = await process.registered();
      nodes.push(node);
      return { process, node };
    }

    it("a SIGKILLed agent's job runs again on the ready node within seconds, from its last checkpoint", async () => {
      // Two agents ready: the job lands on one, the other is there to take it.
      const both = [await agent(), await agent()];
      const job = await user.submit({
        name: "counter",
        image: TEST_IMAGE,
        command: ["sh", "-c", COUNTER],
        resources: { cpus: 0.5, memoryGb: 0.25 },
        checkpoint: { path: "/meridian/checkpoint", intervalSeconds: 10 },
        outputs: [{ path: "/outputs" }],
        maxRetries: 2,
      });
      const running = await user.waitFor(job.id, (j) => j.status === "running", 60_000);
      const victim = both.find((a) => a.node === running.nodeId);
      const survivor = both.find((a) => a.node !== running.nodeId);
      if (!victim || !survivor)
        throw new Error(`the job runs on ${running.nodeId}, not on one of the agents`);
      await eventually("a committed checkpoint", () =>
        /periodic checkpoint \d+ committed/.test(victim.process.output()) ? true : undefined,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${victim.process.output()}`);
      });
      await victim.process.kill("SIGKILL");
      // A dead host's container would not count on.
      removeContainersLabelled(`meridian.node=${victim.node}`);

      const done = await user.waitFor(
        job.id,
        (j) => ["succeeded", "failed", "cancelled"].includes(j.status),
        120_000,
      );
      const logs = await (await user.request(`/v1/jobs/${job.id}/logs`)).text();
      const events = (
        (await (await user.request(`/v1/jobs/${job.id}/events`)).json()) as { events: JobEventView[] }
      ).events;
      const trace = events.map((e) => `${e.status} ${e.nodeId ?? "-"} ${e.reason ?? ""}`).join("\n");
      expect(done.status, `${done.reason}\n${trace}\n${logs}\n${survivor.process.output()}`).toBe(
        "succeeded",
      );
      expect(done.nodeId).toBe(survivor.node);
      expect(done.attempts).toBe(2);

      // Lost because its connection dropped and did not come back — not because a lease lapsed.
      const lost = events.filter((e) => e.status === "lost");
      expect(
        lost.map((e) => e.reason),
        trace,
      ).toEqual([`connection to node ${victim.node} dropped and did not return within 2 s`]);

      // The second attempt started from the checkpoint, not from zero, and counted on to N.
      const resumed = /resumed=1 start=(\d+)/.exec(logs);
      expect(resumed, logs).not.toBeNull();
      const start = Number(resumed?.[1]);
      expect(start).toBeGreaterThanOrEqual(5);
      expect(start).toBeLessThan(N);
      expect(logs).toContain("resumed=0 start=0");
      expect(logs).toContain(`final=${N}`);
      expect(`${logs}\n${survivor.process.output()}`).toMatch(/restored checkpoint \d+/);

      const outputs = (
        (await (await user.request(`/v1/jobs/${job.id}/outputs`)).json()) as { outputs: OutputView[] }
      ).outputs;
      const result = outputs.find((o) => o.path === "/outputs/result.txt");
      expect((await (await fetch(result?.downloadUrl ?? "")).text()).trim()).toBe(String(N));
    }, 240_000);
  },
);
