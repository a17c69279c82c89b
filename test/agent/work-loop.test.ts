import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AgentHandle, startAgent } from "../../src/agent/agent.js";
import { silentLog } from "../../src/agent/agent-log.js";
import { DockerRuntime } from "../../src/agent/docker-runtime.js";
import type { AttemptReport } from "../../src/shared/agent-protocol.js";
import { SIGNATURE_HEADERS } from "../../src/shared/agent-signature.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { assignment, FakeControlPlane } from "./fake-control-plane.js";

const RUN_LABEL = { "meridian.test": `work-loop-${process.pid}` };

function exitedOf(reports: AttemptReport[]): Extract<AttemptReport, { type: "exited" }> | undefined {
  return reports.find(
    (report): report is Extract<AttemptReport, { type: "exited" }> => report.type === "exited",
  );
}

function logText(reports: AttemptReport[], stream: "stdout" | "stderr"): string {
  return reports
    .flatMap((report) => (report.type === "logs" ? report.chunks : []))
    .filter((chunk) => chunk.stream === stream)
    .map((chunk) => chunk.data)
    .join("");
}

describe.skipIf(!dockerAvailable("agent work loop"))("agent work loop against a fake control plane", () => {
  const runtime = new DockerRuntime({ stopGraceSeconds: 2, extraLabels: RUN_LABEL });
  let plane: FakeControlPlane;
  let agent: AgentHandle | undefined;

  const start = async (): Promise<AgentHandle> => {
    const url = await plane.listen();
    const dataDir = await mkdtemp(join(tmpdir(), "meridian-agent-"));
    agent = await startAgent({
      dataDir,
      controlPlane: url,
      labels: { purpose: "test" },
      log: silentLog,
      runtime,
      nvidiaSmi: "/nonexistent/nvidia-smi",
    });
    await agent.registered;
    return agent;
  };

  beforeEach(() => {
    plane = new FakeControlPlane();
  });

  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await plane.close();
  });

  afterAll(async () => {
    const left = await runtime.docker.listContainers({
      all: true,
      filters: { label: [`meridian.test=${RUN_LABEL["meridian.test"]}`] },
    });
    await Promise.all(left.map((info) => runtime.docker.getContainer(info.Id).remove({ force: true })));
  });

  it("registers, runs an assignment, and reports started, logs and exited, every request signed", async () => {
    const handle = await start();
    const job = assignment({
      image: TEST_IMAGE,
      command: ["sh", "-c", 'echo "out $MODE"; echo "err line" >&2; exit 3'],
      env: { MODE: "fast" },
    });
    plane.assign(job);
    await plane.until(() => exitedOf(plane.reportsOf(job.attemptId)) !== undefined);

    const reports = plane.reportsOf(job.attemptId);
    expect(reports[0]).toMatchObject({ type: "started", fencing: 1, containerId: expect.any(String) });
    // The started report names what ran: the engine's image id, the image's content digest.
    const imageId = (await runtime.docker.getImage(TEST_IMAGE).inspect()).Id;
    expect(reports[0]).toMatchObject({ imageDigest: imageId });
    expect(logText(reports, "stdout")).toBe("out fast\n");
    expect(logText(reports, "stderr")).toBe("err line\n");
    expect(reports.at(-1)).toMatchObject({ type: "exited", fencing: 1, exitCode: 3, reason: "completed" });

    const register = plane.requests.find((request) => request.path === "/v1/agent/register");
    expect(register?.body).toMatchObject({
      hardware: { gpus: [] },
      pricePerGpuHour: "1.50",
      labels: { purpose: "test" },
      runtime: "docker",
    });
    expect(plane.requests.every((request) => request.signatureValid)).toBe(true);
    expect(
      plane.requests.every((request) => request.headers[SIGNATURE_HEADERS.publicKey] === handle.publicKey),
    ).toBe(true);
    const nonces = plane.requests.map((request) => request.headers[SIGNATURE_HEADERS.nonce]);
    expect(new Set(nonces).size).toBe(nonces.length);
    const afterRegistration = plane.requests.filter((request) => request.path !== "/v1/agent/register");
    expect(
      afterRegistration.every((request) => request.headers[SIGNATURE_HEADERS.nodeId] === plane.nodeId),
    ).toBe(true);
    // The attempt was listed in polls while it ran: that is what renews its lease.
    const polled = plane.requests.filter((request) => request.path === "/v1/agent/poll");
    expect(polled.some((request) => JSON.stringify(request.body).includes(job.attemptId))).toBe(true);
  });

  it("stops a cancelled attempt and reports it cancelled", async () => {
    await start();
    const job = assignment({ command: ["sleep", "300"] });
    plane.assign(job);
    await plane.until(() => plane.reportsOf(job.attemptId).some((report) => report.type === "started"));
    plane.stopAttempt({ attemptId: job.attemptId, reason: "cancelled" });
    await plane.until(() => exitedOf(plane.reportsOf(job.attemptId)) !== undefined);
    expect(exitedOf(plane.reportsOf(job.attemptId))).toMatchObject({ reason: "cancelled" });
  });

  it("ends an attempt that runs past its time limit as a timeout", async () => {
    await start();
    const job = assignment({ command: ["sleep", "300"], timeoutSeconds: 1 });
    plane.assign(job);
    await plane.until(() => exitedOf(plane.reportsOf(job.attemptId)) !== undefined);
    expect(exitedOf(plane.reportsOf(job.attemptId))).toMatchObject({ reason: "timeout" });
  });

  it("hands back at once work assigned after its operating window closed, as the config change says", async () => {
    const url = await plane.listen();
    const dataDir = await mkdtemp(join(tmpdir(), "meridian-agent-"));
    const infos: string[] = [];
    agent = await startAgent({
      dataDir,
      controlPlane: url,
      log: { ...silentLog, info: (message) => void infos.push(message) },
      runtime,
      nvidiaSmi: "/nonexistent/nvidia-smi",
      configDebounceMs: 20,
    });
    await agent.registered;
    // A window on another day only: closed now, while a poll is held with acceptingWork true.
    const days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    const other = days[(new Date().getUTCDay() + 3) % 7] ?? "sun";
    const file = join(dataDir, "config.json");
    const config = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    const written = infos.length;
    await writeFile(
      file,
      JSON.stringify({
        ...config,
        timeZone: "UTC",
        windows: [{ days: [other], start: "00:00", end: "01:00" }],
      }),
    );
    await expect
      .poll(() => infos.slice(written).some((line) => line.includes("apply now")), { timeout: 10_000 })
      .toBe(true);
    const job = assignment();
    plane.assign(job);
    await plane.until(() => exitedOf(plane.reportsOf(job.attemptId)) !== undefined);
    const exited = exitedOf(plane.reportsOf(job.attemptId));
    expect(exited).toMatchObject({ reason: "error", errorKind: "unavailable", exitCode: null });
    expect(exited?.message).toContain("operating windows");
    // Nothing ran: the only report is the refusal.
    expect(plane.reportsOf(job.attemptId)).toHaveLength(1);
  });

  it("reports an image that cannot be pulled as an error with no exit code", async () => {
    await start();
    const job = assignment({ image: "127.0.0.1:9/meridian/missing:never" });
    plane.assign(job);
    await plane.until(() => exitedOf(plane.reportsOf(job.attemptId)) !== undefined);
    const reports = plane.reportsOf(job.attemptId);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ type: "exited", exitCode: null, reason: "error" });
    expect(exitedOf(reports)?.message).toContain("127.0.0.1:9/meridian/missing:never");
  });

  it("drops an attempt whose lease is stale: stops its container and reports nothing more", async () => {
    const handle = await start();
    plane.answerReport = () => ({
      status: 409,
      body: { error: { code: "stale_lease", message: "superseded" } },
    });
    const job = assignment({ command: ["sleep", "300"] });
    plane.assign(job);
    await plane.until(() => plane.reportsOf(job.attemptId).length > 0);
    await handle.stop();
    agent = undefined;
    expect(plane.reportsOf(job.attemptId).map((report) => report.type)).toEqual(["started"]);
    const left = await runtime.docker.listContainers({
      all: true,
      filters: { label: [`meridian.attempt=${job.attemptId}`] },
    });
    expect(left).toEqual([]);
  });

  it("registers again when the control plane no longer knows the node", async () => {
    await start();
    plane.failNextPoll = { status: 404, body: { error: { code: "unknown_node", message: "who are you?" } } };
    await plane.until(
      () => plane.requests.filter((request) => request.path === "/v1/agent/register").length === 2,
    );
    const job = assignment();
    plane.assign(job);
    await plane.until(() => exitedOf(plane.reportsOf(job.attemptId)) !== undefined);
    expect(exitedOf(plane.reportsOf(job.attemptId))).toMatchObject({ reason: "completed", exitCode: 0 });
  });

  it("on shutdown stops running attempts and reports them stopped by the node's shutdown", async () => {
    const handle = await start();
    const job = assignment({ command: ["sleep", "300"] });
    plane.assign(job);
    await plane.until(() => plane.reportsOf(job.attemptId).some((report) => report.type === "started"));
    await handle.stop();
    agent = undefined;
    expect(exitedOf(plane.reportsOf(job.attemptId))).toMatchObject({
      reason: "error",
      message: "the node's agent shut down",
      errorKind: "node_shutdown",
    });
  });
});

describe("agent without a Docker engine", () => {
  it("says plainly that Docker is missing and how to fix it, keeps waiting, and stops cleanly", async () => {
    const plane = new FakeControlPlane();
    const url = await plane.listen();
    const warnings: string[] = [];
    const agent = await startAgent({
      dataDir: await mkdtemp(join(tmpdir(), "meridian-agent-")),
      controlPlane: url,
      log: { ...silentLog, warn: (message) => void warnings.push(message) },
      runtime: new DockerRuntime({ socketPath: "/nonexistent/docker.sock" }),
      dockerRetryMs: 50,
      nvidiaSmi: "/nonexistent/nvidia-smi",
    });
    await expect.poll(() => warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toContain("no Docker engine answers at /nonexistent/docker.sock");
    expect(warnings[0]).toContain("sudo systemctl start docker");
    expect(warnings[0]).toContain("DOCKER_HOST");
    await agent.stop();
    await expect(agent.registered).rejects.toThrow(/stopped before it registered/);
    expect(plane.requests).toEqual([]);
    await plane.close();
  });
});
