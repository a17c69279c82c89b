import { afterAll, describe, expect, it } from "vitest";
import { AttemptRunner } from "../../src/agent/attempt-runner.js";
import { systemClock } from "../../src/agent/clock.js";
import { DockerRuntime } from "../../src/agent/docker-runtime.js";
import type { AttemptReport, ReportResponse } from "../../src/shared/agent-protocol.js";
import { isUserStartError } from "../../src/shared/start-errors.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { assignment } from "./fake-control-plane.js";

// Every container this file starts carries this label, so afterAll can remove whatever is left.
const RUN_LABEL = { "meridian.test": `start-error-kind-${process.pid}` };

/** Runs one attempt to its end on `runtime` and returns its exit report. */
async function exitOf(
  runtime: DockerRuntime,
  overrides: Parameters<typeof assignment>[0],
): Promise<AttemptReport & { type: "exited" }> {
  const reports: AttemptReport[] = [];
  const accepted: ReportResponse = { accepted: true, stop: false };
  const runner = new AttemptRunner(assignment(overrides), {
    nodeId: "node_test",
    runtime,
    clock: systemClock,
    log: { info: () => {}, warn: () => {}, error: () => {} },
    report: async (_attemptId, body) => {
      reports.push(body);
      return { ...accepted, stop: body.type === "exited" };
    },
  });
  await runner.done;
  const exit = reports.find((report) => report.type === "exited");
  if (exit?.type !== "exited") throw new Error(`the attempt reported no exit: ${JSON.stringify(reports)}`);
  return exit;
}

describe.skipIf(!dockerAvailable("start error kinds"))("whose fault a container's failed start is", () => {
  const runtime = new DockerRuntime({ stopGraceSeconds: 2, extraLabels: RUN_LABEL });

  afterAll(async () => {
    const left = await runtime.docker.listContainers({
      all: true,
      filters: { label: [`meridian.test=${RUN_LABEL["meridian.test"]}`] },
    });
    await Promise.all(left.map((info) => runtime.docker.getContainer(info.Id).remove({ force: true })));
  });

  it("reports the engine refusing the job's own config as the user's (spec), with the engine's words", async () => {
    const exit = await exitOf(runtime, { image: TEST_IMAGE, command: ["true"], env: { "": "x" } });
    expect(exit).toMatchObject({ reason: "error", errorKind: "spec", exitCode: null });
    expect(exit.message).toContain("invalid environment variable");
  });

  it("reports an image reference the engine cannot parse, met at start, as the user's", async () => {
    // ensureImage passes (the image is there); create then names a reference that does not parse.
    const badRef = Object.assign(Object.create(runtime) as DockerRuntime, {
      start: (spec: Parameters<DockerRuntime["start"]>[0], onLog: Parameters<DockerRuntime["start"]>[1]) =>
        runtime.start({ ...spec, image: "Bad:Ref::x" }, onLog),
    });
    const exit = await exitOf(badRef, { image: TEST_IMAGE, command: ["true"] });
    expect(exit).toMatchObject({ reason: "error", errorKind: "spec" });
    expect(exit.message).toContain("invalid reference format");
  });

  it("keeps an engine that does not answer at start the node's fault (runtime)", async () => {
    const dead = new DockerRuntime({ socketPath: `/tmp/meridian-no-engine-${process.pid}.sock` });
    const deadAtStart = Object.assign(Object.create(runtime) as DockerRuntime, {
      start: dead.start.bind(dead),
    });
    const exit = await exitOf(deadAtStart, { image: TEST_IMAGE, command: ["true"] });
    expect(exit).toMatchObject({ reason: "error", errorKind: "runtime" });
    expect(isUserStartError(exit.message)).toBe(false);
  });
});

describe("the start errors that are the user's", () => {
  it("match Docker's and the OCI runtime's words for a bad image, command or config, and no node fault", () => {
    for (const message of [
      "no such image: Bad:Ref::x: invalid reference format: repository name must be lowercase",
      "No such image: meridian/none:never",
      'OCI runtime create failed: runc create failed: unable to start container process: exec: "nosuchcmd": executable file not found in $PATH',
      'exec: "/app/run": permission denied',
      "invalid environment variable: =x",
      "the working directory 'app' is invalid, it needs to be an absolute path",
    ])
      expect(isUserStartError(message), message).toBe(true);
    for (const message of [
      "connect ENOENT /var/run/docker.sock",
      "the node's Docker engine at /var/run/docker.sock does not answer (socket hang up)",
      "no space left on device",
      'could not select device driver "nvidia" with capabilities: [[gpu]]',
      "OCI runtime create failed: cgroup: cannot allocate memory",
      undefined,
    ])
      expect(isUserStartError(message), String(message)).toBe(false);
  });
});
