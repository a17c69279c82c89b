import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OutputView } from "../../src/shared/storage/agent-storage-protocol.js";
import { removeContainersLabelled } from "../support/agent-process.js";
import { CheckpointRig, counterSpec, eventually } from "../support/checkpoint-counter.js";
import { dockerAvailable } from "../support/docker.js";

const N = 30;
const ENDED = ["succeeded", "failed", "cancelled"];

describe.skipIf(!dockerAvailable("checkpoint resume end to end: wrangler dev + R2 + agents + Docker"))(
  "checkpoint-aware migration, pause and resume",
  () => {
    let rig: CheckpointRig;

    beforeAll(async () => {
      rig = await CheckpointRig.start();
    }, 180_000);

    afterAll(async () => {
      await rig?.close();
    });

    it("a job whose agent is SIGKILLed halfway finishes on another node, resumed from its checkpoint", async () => {
      const { user } = rig;
      const first = await rig.agent();
      // The first attempt holds at N / 2 until its node dies, so it is killed halfway even when the
      // first checkpoint commits late on a loaded machine (it once resumed at 30 of 30 so).
      const job = await user.submit(counterSpec(N, {}, N / 2));
      // The first periodic checkpoint is committed (about 10 s in): then the node dies, hard.
      await eventually("a committed checkpoint", () =>
        /periodic checkpoint \d+ committed/.test(first.process.output()) ? true : undefined,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${first.process.output()}`);
      });
      await first.process.kill("SIGKILL");
      // Its container would count on (SIGKILL leaves containers); a dead host's would not.
      removeContainersLabelled(`meridian.node=${first.node}`);

      const second = await rig.agent();
      const done = await user.waitFor(job.id, (j) => ENDED.includes(j.status), 120_000);
      const logs = await rig.logs(job.id);
      expect(done.status, `${done.reason}\n${logs}\n${second.process.output()}`).toBe("succeeded");
      expect(done.nodeId).toBe(second.node);
      expect(done.attempts).toBe(2);

      // The second attempt started from the checkpoint, not from zero, and counted on to N.
      const resumed = /resumed=1 start=(\d+)/.exec(logs);
      expect(resumed, logs).not.toBeNull();
      const start = Number(resumed?.[1]);
      expect(start).toBeGreaterThanOrEqual(5);
      expect(start).toBeLessThan(N);
      expect(logs).toContain(`final=${N}`);
      expect(logs).toContain("resumed=0 start=0");
      expect(logs).toMatch(/restored checkpoint \d+/);

      const outputs = (
        (await (await user.request(`/v1/jobs/${job.id}/outputs`)).json()) as { outputs: OutputView[] }
      ).outputs;
      const result = outputs.find((o) => o.path === "/outputs/result.txt");
      expect((await (await fetch(result?.downloadUrl ?? "")).text()).trim()).toBe(String(N));
      // Its node goes away: the next test's job can only land on nodes it starts.
      await second.process.kill("SIGTERM", 15_000);
    }, 240_000);

    it("pauses on one node (SIGTERM, checkpoint synced, GPU time stops) and resumes on another from that checkpoint", async () => {
      const { user } = rig;
      const M = 15;
      const first = await rig.agent();
      const job = await user.submit(
        counterSpec(M, { checkpoint: { path: "/meridian/checkpoint", intervalSeconds: 60 } }),
      );
      // Paused a few seconds in, long before the first periodic sync (60 s): only the pause's sync
      // can have stored the count.
      await eventually("count 4", async () =>
        (await rig.logs(job.id)).includes("count 4") ? true : undefined,
      );
      const paused = await user.request(`/v1/jobs/${job.id}/pause`, { method: "POST", body: {} });
      expect(paused.status, await paused.clone().text()).toBe(202);
      const view = await user.waitFor(
        job.id,
        (j) => j.status === "paused" || ENDED.includes(j.status),
        60_000,
      );
      const pausedLogs = await rig.logs(job.id);
      expect(view.status, `${view.reason}\n${pausedLogs}\n${first.process.output()}`).toBe("paused");
      expect(view.reason).toMatch(/checkpoint \d+ \(\d+ bytes\) is kept until/);
      expect(first.process.output()).toMatch(/final checkpoint \d+ committed/);
      const counted = Math.max(...[...pausedLogs.matchAll(/count (\d+)/g)].map((m) => Number(m[1])));
      expect(pausedLogs).not.toContain("final=");
      // GPU time is settled with the attempt (cancelled: charged for the time it ran).
      const events = (await (await user.request(`/v1/jobs/${job.id}/events`)).json()) as {
        events: { status: string; nodeId: string | null }[];
      };
      expect(events.events.map((e) => e.status).slice(-2)).toEqual(["running", "paused"]);

      // The original node is gone by the time the user resumes; any other node that fits takes it.
      await first.process.kill("SIGTERM", 15_000);
      const second = await rig.agent();
      const resumed = await user.request(`/v1/jobs/${job.id}/resume`, { method: "POST" });
      expect(resumed.status, await resumed.clone().text()).toBe(200);
      const done = await user.waitFor(job.id, (j) => ENDED.includes(j.status), 90_000);
      const logs = await rig.logs(job.id);
      expect(done.status, `${done.reason}\n${logs}\n${second.process.output()}`).toBe("succeeded");
      expect(done.nodeId).toBe(second.node);
      const start = Number(/resumed=1 start=(\d+)/.exec(logs)?.[1]);
      // It went on from the count it had when paused (the trap lets the current second finish).
      expect(start).toBeGreaterThanOrEqual(counted);
      expect(start).toBeGreaterThanOrEqual(4);
      expect(logs).toContain(`final=${M}`);
      expect(logs.match(/count (\d+)/g)?.length).toBe(M);
    }, 180_000);
  },
);
