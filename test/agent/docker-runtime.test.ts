import { execFileSync } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import type { ContainerSpec, LogStream } from "../../src/agent/container-runtime.js";
import { ImagePullError } from "../../src/agent/container-runtime.js";
import { DockerRuntime } from "../../src/agent/docker-runtime.js";
import { newId } from "../../src/shared/ids.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";

// Every container this file starts carries this label, so afterAll can remove whatever is left.
const RUN_LABEL = { "meridian.test": `docker-runtime-${process.pid}` };

function spec(overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    jobId: newId("job"),
    attemptId: newId("att"),
    nodeId: newId("node"),
    image: TEST_IMAGE,
    command: ["true"],
    env: {},
    gpuUuids: [],
    cpus: 1,
    memoryMib: 128,
    ...overrides,
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

function containerExists(id: string): boolean {
  try {
    execFileSync("docker", ["inspect", id], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

describe.skipIf(!dockerAvailable("agent docker runtime"))("agent docker runtime", () => {
  const runtime = new DockerRuntime({ stopGraceSeconds: 2, extraLabels: RUN_LABEL });

  afterAll(async () => {
    const left = await runtime.docker.listContainers({
      all: true,
      filters: { label: [`meridian.test=${RUN_LABEL["meridian.test"]}`] },
    });
    await Promise.all(left.map((info) => runtime.docker.getContainer(info.Id).remove({ force: true })));
  });

  it("answers a ping", async () => {
    expect(await runtime.ping()).toBe(true);
  });

  it("runs a container with the given env and command, and returns its stdout, stderr and exit code", async () => {
    await runtime.ensureImage(TEST_IMAGE);
    const logs = collector();
    const job = spec({
      command: ["sh", "-c", 'echo "greeting=$GREETING job=$MERIDIAN_JOB_ID"; echo "to stderr" >&2'],
      env: { GREETING: "hello world" },
    });
    const container = await runtime.start(job, logs.onLog);
    expect(container.imageDigest).toBe((await runtime.docker.getImage(TEST_IMAGE).inspect()).Id);
    expect(container.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const exit = await container.exited;
    expect(exit).toEqual({ exitCode: 0, oomKilled: false });
    expect(logs.text.stdout).toBe(`greeting=hello world job=${job.jobId}\n`);
    expect(logs.text.stderr).toBe("to stderr\n");
    await container.remove();
    expect(container.state).toBe("removed");
    expect(containerExists(container.id)).toBe(false);
  });

  it("returns a non-zero exit code", async () => {
    const container = await runtime.start(spec({ command: ["sh", "-c", "exit 42"] }), () => {});
    expect((await container.exited).exitCode).toBe(42);
    await container.remove();
  });

  it("stops a sleeping container within its grace period and removes it", async () => {
    const container = await runtime.start(spec({ command: ["sleep", "300"] }), () => {});
    expect(container.state).toBe("running");
    await container.stop();
    const exit = await container.exited;
    // SIGTERM (143) reaches sleep through the init process; SIGKILL (137) if it had not.
    expect([143, 137]).toContain(exit.exitCode);
    await container.remove();
    expect(containerExists(container.id)).toBe(false);
  });

  it("applies the resource limits and drops privileges", async () => {
    const container = await runtime.start(
      spec({ command: ["sleep", "300"], cpus: 0.5, memoryMib: 96 }),
      () => {},
    );
    try {
      const info = await runtime.docker.getContainer(container.id).inspect();
      expect(info.HostConfig.NanoCpus).toBe(500_000_000);
      expect(info.HostConfig.Memory).toBe(96 * 1024 * 1024);
      expect(info.HostConfig.MemorySwap).toBe(96 * 1024 * 1024);
      expect(info.HostConfig.CapDrop).toEqual(["ALL"]);
      expect(info.HostConfig.SecurityOpt).toEqual(["no-new-privileges"]);
      expect(info.HostConfig.Privileged).toBe(false);
      expect(info.HostConfig.PidsLimit).toBeGreaterThan(0);
      expect(info.Mounts).toEqual([]);
      expect(info.Config.Labels).toMatchObject({ "meridian.attempt": expect.stringMatching(/^att_/) });
    } finally {
      await container.remove();
    }
  });

  it("fails clearly, naming the image, when an image is absent and cannot be pulled", async () => {
    const image = "127.0.0.1:9/meridian/does-not-exist:never";
    const failure = await runtime.ensureImage(image).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ImagePullError);
    expect(String((failure as Error).message)).toContain(image);
  });

  it("removes containers a previous run of the node left behind", async () => {
    const nodeId = newId("node");
    await runtime.start(spec({ nodeId, command: ["sleep", "300"] }), () => {});
    expect(await runtime.removeLeftovers(nodeId)).toBe(1);
    expect(await runtime.removeLeftovers(nodeId)).toBe(0);
  });
});
