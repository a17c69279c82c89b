import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentHandle, startAgent } from "../../src/agent/agent.js";
import type { AgentLog } from "../../src/agent/agent-log.js";
import { AgentState, AgentStateFile } from "../../src/agent/agent-state.js";
import { DataFolderHealth } from "../../src/agent/data-folder.js";
import { DockerRuntime } from "../../src/agent/docker-runtime.js";
import type { AttemptReport } from "../../src/shared/agent-protocol.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { assignment, FakeControlPlane } from "./fake-control-plane.js";

const RUN_LABEL = { "meridian.test": `data-folder-full-${process.pid}` };

type Exited = Extract<AttemptReport, { type: "exited" }>;

function exitedOf(reports: AttemptReport[]): Exited | undefined {
  return reports.find((report): report is Exited => report.type === "exited");
}

/** Mounting a tmpfs needs root; without it the suite says so and skips. */
function canMount(): boolean {
  if (process.getuid?.() === 0) return true;
  console.warn("\n!!! SKIPPED agent data folder full: mounting a tmpfs needs root !!!\n");
  return false;
}

/**
 * The agent's data folder on a 1 MiB tmpfs that fills up, with the real agent on the real Docker
 * engine: the agent must not crash, must say plainly that the node's folder is full (an attempt
 * it cannot hold ends as the node's own error, `runtime`, which the region counts against the
 * node and does not charge; it stops taking work and logs it), and must take work again once
 * space is freed.
 */
describe.skipIf(!dockerAvailable("agent data folder full") || !canMount())("agent data folder full", () => {
  const runtime = new DockerRuntime({ stopGraceSeconds: 2, extraLabels: RUN_LABEL });
  const plane = new FakeControlPlane();
  const lines: string[] = [];
  const log: AgentLog = {
    info: (message) => lines.push(`info: ${message}`),
    warn: (message) => lines.push(`warn: ${message}`),
    error: (message) => lines.push(`error: ${message}`),
  };
  let mountPoint = "";
  let agent: AgentHandle | undefined;
  let stopped = false;

  beforeAll(async () => {
    mountPoint = await mkdtemp(join(tmpdir(), "meridian-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", mountPoint]);
  });

  afterAll(async () => {
    await agent?.stop();
    await plane.close();
    const left = await runtime.docker.listContainers({
      all: true,
      filters: { label: [`meridian.test=${RUN_LABEL["meridian.test"]}`] },
    });
    await Promise.all(left.map((info) => runtime.docker.getContainer(info.Id).remove({ force: true })));
    if (mountPoint) {
      execFileSync("umount", [mountPoint]);
      await rm(mountPoint, { recursive: true, force: true });
    }
  });

  const pollsFrom = (index: number): { acceptingWork?: boolean }[] =>
    plane.requests
      .slice(index)
      .filter((request) => request.path === "/v1/agent/poll")
      .map((request) => request.body as { acceptingWork?: boolean });

  it("fails the attempt as the node's error naming the full folder, stops taking work, recovers when freed", async () => {
    const url = await plane.listen();
    agent = await startAgent({
      dataDir: join(mountPoint, "agent"),
      controlPlane: url,
      log,
      runtime,
      nvidiaSmi: "/nonexistent/nvidia-smi",
    });
    void agent.done.then(() => {
      stopped = true;
    });
    await agent.registered;

    // Before: a job runs.
    const before = assignment({ image: TEST_IMAGE, command: ["sh", "-c", "echo before"] });
    plane.assign(before);
    await plane.until(() => exitedOf(plane.reportsOf(before.attemptId)) !== undefined);
    expect(exitedOf(plane.reportsOf(before.attemptId))).toMatchObject({ reason: "completed", exitCode: 0 });

    // The folder fills up: a file written until the tmpfs refuses more.
    const filler = join(mountPoint, "filler");
    await writeFile(filler, Buffer.alloc(2 * 1024 * 1024)).catch(() => undefined);
    await expect(writeFile(join(mountPoint, "check"), Buffer.alloc(4096))).rejects.toMatchObject({
      code: "ENOSPC",
    });

    const fullAt = plane.requests.length;
    const full = assignment({ image: TEST_IMAGE, command: ["sh", "-c", "echo never"] });
    plane.assign(full);
    await plane.until(() => exitedOf(plane.reportsOf(full.attemptId)) !== undefined);
    const reports = plane.reportsOf(full.attemptId);
    // Nothing started; the exit says whose fault and why, in words a provider and a user can act on.
    expect(reports.map((report) => report.type)).toEqual(["exited"]);
    const exited = exitedOf(reports);
    expect(exited).toMatchObject({ reason: "error", errorKind: "runtime", exitCode: null });
    expect(exited?.message).toMatch(/the node's data folder .*meridian-full-.* is full \(ENOSPC/);
    expect(lines.some((line) => line.startsWith("error: ") && line.includes("ENOSPC"))).toBe(true);
    // The node takes itself out of placement while the folder is full, and keeps polling.
    await plane.until(() => pollsFrom(fullAt).some((poll) => poll.acceptingWork === false));
    expect(stopped).toBe(false);

    // Space freed: the node takes work again by itself and the next job runs.
    await rm(filler);
    const freedAt = plane.requests.length;
    await plane.until(() => pollsFrom(freedAt).some((poll) => poll.acceptingWork === true));
    expect(lines.some((line) => line.includes("takes writes again"))).toBe(true);
    const after = assignment({ image: TEST_IMAGE, command: ["sh", "-c", "echo after"] });
    plane.assign(after);
    await plane.until(() => exitedOf(plane.reportsOf(after.attemptId)) !== undefined);
    expect(plane.reportsOf(after.attemptId)[0]).toMatchObject({ type: "started" });
    expect(exitedOf(plane.reportsOf(after.attemptId))).toMatchObject({ reason: "completed", exitCode: 0 });
    expect(stopped).toBe(false);

    // The state file is whole again, with the node's registration, and no temporary left behind.
    await expect
      .poll(async () =>
        AgentState.parse(JSON.parse(await readFile(join(mountPoint, "agent", "state.json"), "utf8"))),
      )
      .toMatchObject({ nodeId: plane.nodeId, acceptingWork: true, running: [] });
  }, 120_000);
});

describe("agent state file writes", () => {
  it("reports a failed write instead of swallowing it, and the next good write clears it", async () => {
    const lines: string[] = [];
    const dir = await mkdtemp(join(tmpdir(), "meridian-state-"));
    const health = new DataFolderHealth(join(dir, "missing"), {
      info: (message) => lines.push(`info: ${message}`),
      warn: (message) => lines.push(`warn: ${message}`),
      error: (message) => lines.push(`error: ${message}`),
    });
    const state = new AgentStateFile(join(dir, "missing"), () => 1, health);
    state.update((current) => {
      current.acceptingWork = true;
    });
    await state.flushed();
    expect(health.current).toMatch(/the node's data folder .*missing cannot be written \(ENOENT\)/);
    expect(lines).toEqual([expect.stringMatching(/^error: the node's data folder .*ENOENT/)]);
    await mkdir(join(dir, "missing"));
    state.update((current) => {
      current.acceptingWork = false;
    });
    await state.flushed();
    expect(health.current).toBeUndefined();
    expect(lines[1]).toMatch(/^info: the data folder .* takes writes again/);
    expect(JSON.parse(await readFile(join(dir, "missing", "state.json"), "utf8"))).toMatchObject({
      acceptingWork: false,
    });
    await rm(dir, { recursive: true, force: true });
  });
});
