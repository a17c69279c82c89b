import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OutputView } from "../../src/shared/storage/agent-storage-protocol.js";
import { AgentProcess, removeContainersLabelled } from "../support/agent-process.js";
import { type ControlPlane, startControlPlane } from "../support/control-plane.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { UserClient } from "../support/user-client.js";

// Leases lapse in seconds rather than a deployment's 45 s (as in the failover tests).
const TIMING = {
  POLL_WAIT_MS: "1000",
  LEASE_TTL_MS: "5000",
  NODE_GRACE_MS: "5000",
  SWEEP_INTERVAL_MS: "1000",
};
const N = 30;

// Counts to N, one a second, keeping the count in the checkpoint folder (written then renamed, so
// a sync never sees half a file); on start it resumes from whatever count it finds there.
const COUNTER = [
  'dir="$MERIDIAN_CHECKPOINT_DIR"; i=0',
  '[ -f "$dir/count" ] && i=$(cat "$dir/count")',
  'echo "resumed=$MERIDIAN_RESUMED start=$i"',
  `while [ "$i" -lt ${N} ]; do i=$((i+1)); echo "$i" > "$dir/count.tmp" && mv "$dir/count.tmp" "$dir/count"; echo "count $i"; sleep 1; done`,
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

describe.skipIf(!dockerAvailable("checkpoint resume end to end: wrangler dev + R2 + agents + Docker"))(
  "checkpoint-aware migration",
  () => {
    let plane: ControlPlane;
    let user: UserClient;
    const dirs: string[] = [];
    const agents: AgentProcess[] = [];
    const nodes: string[] = [];

    beforeAll(async () => {
      plane = await startControlPlane({ vars: { ...TIMING, REQUIRE_VERIFIED_GPUS: "false" } });
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

    it("a job whose agent is SIGKILLed halfway finishes on another node, resumed from its checkpoint", async () => {
      const first = await agent();
      const job = await user.submit({
        name: "counter",
        image: TEST_IMAGE,
        command: ["sh", "-c", COUNTER],
        resources: { cpus: 0.5, memoryGb: 0.25 },
        checkpoint: { path: "/meridian/checkpoint", intervalSeconds: 10 },
        outputs: [{ path: "/outputs" }],
        maxRetries: 2,
      });
      // The first periodic checkpoint is committed (about 10 s in): then the node dies, hard.
      await eventually("a committed checkpoint", () =>
        /periodic checkpoint \d+ committed/.test(first.process.output()) ? true : undefined,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}\n${first.process.output()}`);
      });
      await first.process.kill("SIGKILL");
      // Its container would count on (SIGKILL leaves containers); a dead host's would not.
      removeContainersLabelled(`meridian.node=${first.node}`);

      const second = await agent();
      const done = await user.waitFor(
        job.id,
        (j) => ["succeeded", "failed", "cancelled"].includes(j.status),
        120_000,
      );
      const logs = await (await user.request(`/v1/jobs/${job.id}/logs`)).text();
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
    }, 240_000);
  },
);
