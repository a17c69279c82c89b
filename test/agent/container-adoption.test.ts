import { afterAll, describe, expect, it } from "vitest";
import type { ContainerSpec, LogStream } from "../../src/agent/container-runtime.js";
import { DockerRuntime } from "../../src/agent/docker-runtime.js";
import { newId } from "../../src/shared/ids.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";

// Every container this file starts carries this label, so afterAll can remove whatever is left.
const RUN_LABEL = { "meridian.test": `container-adoption-${process.pid}` };

function spec(nodeId: string, command: string[]): ContainerSpec {
  return {
    jobId: newId("job"),
    attemptId: newId("att"),
    nodeId,
    image: TEST_IMAGE,
    command,
    env: {},
    gpuUuids: [],
    cpus: 0.5,
    memoryMib: 64,
  };
}

function collector(): { onLog: (stream: LogStream, data: string) => void; text: Record<LogStream, string> } {
  const text: Record<LogStream, string> = { stdout: "", stderr: "" };
  return {
    onLog: (stream, data) => {
      text[stream] += data;
    },
    text,
  };
}

async function until(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Lines with a two-byte character in them, so a resumed stream that cut a character in half shows.
const LINES = 40;
const expected = (stream: string): string =>
  Array.from({ length: LINES }, (_, i) => `${stream} é ${i}\n`).join("");

// A restarted agent takes up a container an earlier run of it started: found by its labels, its
// output resumed exactly where the earlier run's delivery stopped, its exit observed.
describe.skipIf(!dockerAvailable("agent container adoption"))("agent container adoption", () => {
  const cleanup = new DockerRuntime({ extraLabels: RUN_LABEL });

  afterAll(async () => {
    const left = await cleanup.docker.listContainers({
      all: true,
      filters: { label: [`meridian.test=${RUN_LABEL["meridian.test"]}`] },
    });
    await Promise.all(left.map((info) => cleanup.docker.getContainer(info.Id).remove({ force: true })));
  });

  it("finds a running attempt container by its labels and resumes its output with no byte twice or missing", async () => {
    const nodeId = newId("node");
    const before = new DockerRuntime({ stopGraceSeconds: 1, extraLabels: RUN_LABEL });
    await before.ensureImage(TEST_IMAGE);
    const job = spec(nodeId, [
      "sh",
      "-c",
      `i=0; while [ $i -lt ${LINES} ]; do echo "stdout é $i"; echo "stderr é $i" >&2; i=$((i+1)); sleep 0.05; done; exit 3`,
    ]);
    const first = collector();
    await before.start(job, first.onLog);
    await until("some output before the 'crash'", () => first.text.stdout.split("\n").length > 8);
    // What the earlier run had delivered when it died; it goes on receiving, but that is lost.
    const delivered = { stdout: first.text.stdout, stderr: first.text.stderr };

    const after = new DockerRuntime({ stopGraceSeconds: 1, extraLabels: RUN_LABEL });
    const found = await after.findAttempts(nodeId);
    expect(found).toEqual([
      { id: expect.any(String), jobId: job.jobId, attemptId: job.attemptId, running: true },
    ]);
    expect(await after.findAttempts(newId("node"))).toEqual([]);

    const rest = collector();
    const [container] = found;
    if (container === undefined) throw new Error("nothing found");
    const adopted = await after.adopt(container, rest.onLog, {
      stdout: Buffer.byteLength(delivered.stdout),
      stderr: Buffer.byteLength(delivered.stderr),
    });
    expect(adopted.id).toBe(container.id);
    expect(await adopted.exited).toEqual({ exitCode: 3, oomKilled: false });
    expect(delivered.stdout + rest.text.stdout).toBe(expected("stdout"));
    expect(delivered.stderr + rest.text.stderr).toBe(expected("stderr"));
    await adopted.remove();
    expect(await after.findAttempts(nodeId)).toEqual([]);
  });

  it("takes up a container that exited while the agent was away: the undelivered output and the exit code", async () => {
    const nodeId = newId("node");
    const before = new DockerRuntime({ extraLabels: RUN_LABEL });
    const job = spec(nodeId, ["sh", "-c", "echo one; echo two; echo oops >&2; exit 7"]);
    const started = await before.start(job, () => {});
    await started.exited;

    const after = new DockerRuntime({ extraLabels: RUN_LABEL });
    const [found] = await after.findAttempts(nodeId);
    expect(found).toMatchObject({ attemptId: job.attemptId, running: false });
    if (found === undefined) throw new Error("nothing found");
    const rest = collector();
    const adopted = await after.adopt(found, rest.onLog, { stdout: Buffer.byteLength("one\n"), stderr: 0 });
    expect((await adopted.exited).exitCode).toBe(7);
    expect(rest.text).toEqual({ stdout: "two\n", stderr: "oops\n" });
    await after.removeContainer(found);
    await after.removeContainer(found);
    expect(await after.findAttempts(nodeId)).toEqual([]);
  });
});
