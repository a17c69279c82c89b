import { type ChildProcess, execFileSync, execSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentHandle, startAgent } from "../../src/agent/agent.js";
import type { AgentLog } from "../../src/agent/agent-log.js";
import { DockerRuntime } from "../../src/agent/docker-runtime.js";
import type { AttemptReport } from "../../src/shared/agent-protocol.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { assignment, FakeControlPlane } from "./fake-control-plane.js";

const RUN_LABEL = { "meridian.test": `docker-engine-restart-${process.pid}` };

type Exited = Extract<AttemptReport, { type: "exited" }>;

function exitedOf(reports: AttemptReport[]): Exited | undefined {
  return reports.find((report): report is Exited => report.type === "exited");
}

/** A second, private Docker engine needs root and dockerd; without them the suite says so and skips. */
function canRunPrivateEngine(): boolean {
  if (process.getuid?.() === 0 && existsSync("/usr/sbin/dockerd")) return true;
  console.warn(
    "\n!!! SKIPPED agent docker engine restart: a private dockerd needs root and /usr/sbin/dockerd !!!\n",
  );
  return false;
}

/**
 * A private dockerd of this test's own (its own socket, data root, exec root, pid file and
 * containerd, its own bridge, no iptables), never the machine's shared engine: stopped under
 * the real agent while a job runs, and started again on the same data root.
 */
class PrivateEngine {
  private process: ChildProcess | undefined;
  readonly socket: string;

  readonly bridge = `mrdeng${process.pid % 100_000}`;

  constructor(private readonly root: string) {
    this.socket = join(root, "docker.sock");
  }

  async start(): Promise<void> {
    try {
      execFileSync("ip", ["link", "show", this.bridge], { stdio: "pipe" });
    } catch {
      execFileSync("ip", ["link", "add", this.bridge, "type", "bridge"]);
      execFileSync("ip", ["addr", "add", "10.251.77.1/24", "dev", this.bridge]);
    }
    this.process = spawn(
      "/usr/sbin/dockerd",
      [
        `--host=unix://${this.socket}`,
        `--data-root=${join(this.root, "data")}`,
        `--exec-root=${join(this.root, "exec")}`,
        `--pidfile=${join(this.root, "docker.pid")}`,
        // Its own bridge: with --bridge=none dockerd deletes the host's docker0, the shared engine's.
        `--bridge=${this.bridge}`,
        "--iptables=false",
        "--ip-masq=false",
        "--containerd-namespace=meridian-engine-test",
        "--containerd-plugins-namespace=meridian-engine-test-plugins",
      ],
      { stdio: "ignore" },
    );
    for (let tries = 0; tries < 120; tries++) {
      try {
        execFileSync("docker", ["-H", `unix://${this.socket}`, "info", "--format", "{{.ServerVersion}}"], {
          stdio: "pipe",
          timeout: 5_000,
        });
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    throw new Error("the private dockerd did not answer within 30 s");
  }

  /** SIGTERM, as a restart of the engine does, and waits for it to exit. */
  async stop(): Promise<void> {
    const running = this.process;
    this.process = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once("exit", resolve));
    running.kill("SIGTERM");
    await exited;
  }

  /** Stops it and removes its bridge. */
  async remove(): Promise<void> {
    await this.stop();
    execFileSync("ip", ["link", "del", this.bridge], { stdio: "pipe" });
  }
}

/** The containers of this test's run in the private engine, running or not. */
function containersOf(socket: string): string[] {
  const [key, value] = Object.entries(RUN_LABEL)[0] ?? ["", ""];
  return execFileSync(
    "docker",
    ["-H", `unix://${socket}`, "ps", "-aq", "--filter", `label=${key}=${value}`],
    {
      encoding: "utf8",
    },
  )
    .split("\n")
    .filter((id) => id !== "");
}

describe.skipIf(!dockerAvailable("agent docker engine restart") || !canRunPrivateEngine())(
  "agent docker engine restart (a private dockerd)",
  () => {
    const plane = new FakeControlPlane();
    const lines: string[] = [];
    const log: AgentLog = {
      info: (message) => lines.push(`info: ${message}`),
      warn: (message) => lines.push(`warn: ${message}`),
      error: (message) => lines.push(`error: ${message}`),
    };
    let root = "";
    let engine: PrivateEngine;
    let agent: AgentHandle | undefined;
    let stopped = false;

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), "meridian-engine-"));
      await mkdir(join(root, "agent"));
      engine = new PrivateEngine(root);
      await engine.start();
      // The test image, from the shared engine into the private one (nothing is pulled).
      execSync(`docker save ${TEST_IMAGE} | docker -H unix://${engine.socket} load`, { stdio: "pipe" });
    }, 60_000);

    afterAll(async () => {
      await agent?.stop();
      await plane.close();
      await engine?.remove();
      if (root) await rm(root, { recursive: true, force: true });
    }, 60_000);

    it("reports what it could not do while the engine is gone, survives, and runs the next job", async () => {
      const runtime = new DockerRuntime({
        socketPath: engine.socket,
        stopGraceSeconds: 2,
        extraLabels: RUN_LABEL,
      });
      const url = await plane.listen();
      agent = await startAgent({
        dataDir: join(root, "agent"),
        controlPlane: url,
        log,
        runtime,
        nvidiaSmi: "/nonexistent/nvidia-smi",
      });
      void agent.done.then(() => {
        stopped = true;
      });
      await agent.registered;

      // A job is running when the engine goes away.
      const running = assignment({ image: TEST_IMAGE, command: ["sh", "-c", "echo up; sleep 60"] });
      plane.assign(running);
      await plane.until(() => plane.reportsOf(running.attemptId).some((report) => report.type === "started"));
      await engine.stop();
      await plane.until(() => exitedOf(plane.reportsOf(running.attemptId)) !== undefined);
      // The engine stopped the container as it shut down: the node's error, not the job's exit.
      const lost = exitedOf(plane.reportsOf(running.attemptId));
      expect(lost).toMatchObject({ reason: "error", errorKind: "runtime" });
      expect(lost?.message).toMatch(
        /the node's container engine \(.*docker\.sock\) stopped while the container ran/,
      );

      // Work handed out while the engine is down (this control plane hands it out whatever the poll
      // said, as a real one does with a poll already held when the engine stopped) is never started:
      // it is handed back before any container is asked for (`unavailable`: the job goes elsewhere
      // or back here once the engine answers, no retry spent, not the node's fault), naming the
      // engine, not the image.
      const whileDown = assignment({ image: TEST_IMAGE, command: ["sh", "-c", "echo never"] });
      plane.assign(whileDown);
      await plane.until(() => exitedOf(plane.reportsOf(whileDown.attemptId)) !== undefined);
      expect(plane.reportsOf(whileDown.attemptId).map((report) => report.type)).toEqual(["exited"]);
      const refused = exitedOf(plane.reportsOf(whileDown.attemptId));
      expect(refused).toMatchObject({ reason: "error", errorKind: "unavailable", exitCode: null });
      expect(refused?.message).toMatch(
        /the node's container engine at .*docker\.sock does not answer, so the attempt was not started/,
      );
      expect(lines.some((line) => line.includes(`attempt ${whileDown.attemptId} assigned`))).toBe(false);
      expect(stopped).toBe(false);

      // While the engine does not answer, the node says it takes no work (logged once).
      const pollsBefore = plane.requests.length;
      await plane.until(() =>
        plane.requests
          .slice(pollsBefore)
          .some(
            (r) =>
              r.path === "/v1/agent/poll" && (r.body as { acceptingWork?: boolean }).acceptingWork === false,
          ),
      );
      expect(
        lines.filter((line) => /container engine .* does not answer: taking no new work/.test(line)),
      ).toHaveLength(1);

      // The engine comes back on the same data root: the node takes work again, and the lost
      // attempt's container (its removal failed while the engine was down) is reclaimed now.
      await engine.start();
      const back = plane.requests.length;
      await plane.until(() =>
        plane.requests
          .slice(back)
          .some(
            (r) =>
              r.path === "/v1/agent/poll" && (r.body as { acceptingWork?: boolean }).acceptingWork === true,
          ),
      );
      expect(lines.some((line) => /container engine .* answers again: taking work again/.test(line))).toBe(
        true,
      );
      expect(plane.reclaimed).toContain(running.attemptId);
      expect(containersOf(engine.socket)).toEqual([]);
      const after = assignment({ image: TEST_IMAGE, command: ["sh", "-c", "echo after"] });
      plane.assign(after);
      await plane.until(() => exitedOf(plane.reportsOf(after.attemptId)) !== undefined);
      expect(plane.reportsOf(after.attemptId)[0]).toMatchObject({ type: "started" });
      expect(exitedOf(plane.reportsOf(after.attemptId))).toMatchObject({ reason: "completed", exitCode: 0 });
      expect(stopped).toBe(false);
    }, 120_000);
  },
);
