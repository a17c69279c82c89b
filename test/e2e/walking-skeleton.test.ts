import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentHandle, startAgent } from "../../src/agent/agent.js";
import { silentLog } from "../../src/agent/agent-log.js";
import { isTerminal } from "../../src/shared/job-status.js";
import { type ControlPlane, startControlPlane } from "../support/control-plane.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { UserClient } from "../support/user-client.js";

const exec = promisify(execFile);

function containersOf(attemptId: string): string[] {
  const out = execFileSync("docker", ["ps", "-aq", "--filter", `label=meridian.attempt=${attemptId}`], {
    encoding: "utf8",
  });
  return out.split("\n").filter(Boolean);
}

// The whole network as a newcomer runs it: `wrangler dev` (workerd, local D1 and Durable Objects),
// one real host agent on the local Docker engine, and jobs driven over HTTP.
describe.skipIf(!dockerAvailable("end-to-end: wrangler dev + agent + Docker"))(
  "walking skeleton end to end",
  () => {
    let plane: ControlPlane;
    let agent: AgentHandle;
    let dataDir = "";
    let user: UserClient;

    beforeAll(async () => {
      plane = await startControlPlane();
      dataDir = await mkdtemp(path.join(tmpdir(), "meridian-agent-"));
      agent = await startAgent({
        dataDir,
        controlPlane: plane.url,
        nvidiaSmi: "/nonexistent",
        log: silentLog,
        stopGraceSeconds: 2,
      });
      await agent.registered;
      user = await UserClient.signup(plane.url);
    });

    afterAll(async () => {
      await agent?.stop();
      await plane?.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it("lists the agent's node", async () => {
      const { nodeId } = await agent.registered;
      const res = (await (await user.request("/v1/nodes")).json()) as {
        nodes: { id: string; status: string }[];
      };
      expect(res.nodes.find((n) => n.id === nodeId)?.status).toBe("online");
    });

    it("runs a job in a real container, streams its logs and ends succeeded with exit code 0", async () => {
      const job = await user.submit({
        name: "hello",
        image: TEST_IMAGE,
        command: [
          "sh",
          "-c",
          'echo "hello $WHO from $MERIDIAN_JOB_ID"; echo to-stderr >&2; sleep 1; echo done',
        ],
        env: { WHO: "meridian" },
        resources: { cpus: 0.5, memoryGb: 0.25 },
      });
      expect(["queued", "assigned"]).toContain(job.status);

      const follow = await user.request(`/v1/jobs/${job.id}/logs?follow=1`);
      expect(follow.headers.get("content-type")).toMatch(/text\/plain/);
      const text = await follow.text();
      expect(text).toContain(`hello meridian from ${job.id}`);
      expect(text).toContain("to-stderr");
      expect(text).toContain("done");

      const finished = await user.waitFor(job.id, (j) => isTerminal(j.status));
      expect(finished).toMatchObject({ status: "succeeded", exitCode: 0, attempts: 1 });
      expect(finished.startedAt).not.toBeNull();
      const events = (await (await user.request(`/v1/jobs/${job.id}/events`)).json()) as {
        events: { status: string }[];
      };
      expect(events.events.map((e) => e.status)).toEqual(["queued", "assigned", "running", "succeeded"]);
      expect(containersOf(finished.attemptId ?? "")).toEqual([]);
    });

    it("ends a failing command failed, with its exit code", async () => {
      const job = await user.submit({
        name: "fails",
        image: TEST_IMAGE,
        command: ["sh", "-c", "echo oops; exit 3"],
      });
      const finished = await user.waitFor(job.id, (j) => isTerminal(j.status));
      expect(finished).toMatchObject({ status: "failed", exitCode: 3, reason: "exited with code 3" });
      expect(await (await user.request(`/v1/jobs/${job.id}/logs`)).text()).toBe("oops\n");
    });

    it("cancels a long job: it ends cancelled and its container is gone", async () => {
      const job = await user.submit({ name: "long", image: TEST_IMAGE, command: ["sleep", "300"] });
      const running = await user.waitFor(job.id, (j) => j.status === "running");
      const attemptId = running.attemptId ?? "";
      expect(containersOf(attemptId)).toHaveLength(1);

      const cancel = await user.request(`/v1/jobs/${job.id}/cancel`, { method: "POST" });
      expect(cancel.status).toBe(200);
      expect(((await cancel.json()) as { status: string }).status).toBe("cancelled");

      const deadline = Date.now() + 30_000;
      while (containersOf(attemptId).length > 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      expect(containersOf(attemptId)).toEqual([]);
      expect((await user.job(job.id)).status).toBe("cancelled");
      const again = await user.request(`/v1/jobs/${job.id}/cancel`, { method: "POST" });
      expect(again.status).toBe(409);
    });

    it("answers bad input with a 4xx JSON error and never a 5xx", async () => {
      const bad = await user.request("/v1/jobs", { method: "POST", body: { name: "x", image: "NOT VALID" } });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
      const unknown = await user.request("/v1/jobs/job_00000000000000000000000000");
      expect(unknown.status).toBe(404);
    });

    it("works through the CLI: signup, submit a YAML spec, follow logs, read the job as JSON", async () => {
      const config = path.join(dataDir, "cli-config.json");
      const cli = async (...args: string[]): Promise<string> => {
        const { stdout } = await exec("node", ["bin/meridian.mjs", "--api-url", plane.url, ...args], {
          env: { ...process.env, MERIDIAN_CONFIG: config, MERIDIAN_API_KEY: "" },
        });
        return stdout;
      };
      expect(await cli("signup")).toMatch(/mrd_/);
      const submitted = JSON.parse(await cli("jobs", "submit", "examples/hello.yaml", "--json")) as {
        id: string;
      };
      expect(submitted.id).toMatch(/^job_/);
      const logs = await cli("jobs", "logs", submitted.id, "-f");
      expect(logs).toMatch(/hello from \S+\ndone\n/);
      const job = JSON.parse(await cli("jobs", "get", submitted.id, "--json")) as {
        status: string;
        exitCode: number;
      };
      expect(job).toMatchObject({ status: "succeeded", exitCode: 0 });
      expect(await cli("jobs", "list")).toContain(submitted.id);
      expect(await cli("nodes")).toContain((await agent.registered).nodeId);
    });
  },
);
