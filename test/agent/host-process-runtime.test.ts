import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ContainerSpec } from "../../src/agent/container-runtime.js";
import { HostProcessRuntime } from "../../src/agent/host-process-runtime.js";

const spec = (command: string[], env: Record<string, string> = {}): ContainerSpec => ({
  jobId: "job_test",
  attemptId: `att_${Math.random().toString(16).slice(2)}`,
  nodeId: "node_test",
  image: "ignored:on-the-host",
  command,
  env,
  gpuUuids: [],
  cpus: 1,
  memoryMib: 128,
});

describe("host-process runtime", () => {
  it("runs sh -c with the job's env, captures both streams and the exit code", async () => {
    process.env.MERIDIAN_SECRET_FOR_TEST = "leak";
    const runtime = new HostProcessRuntime({ workDir: await mkdtemp(join(tmpdir(), "meridian-host-")) });
    const output: Record<string, string> = { stdout: "", stderr: "" };
    const running = await runtime.start(
      spec(
        [
          "sh",
          "-c",
          'echo "mode=$MODE id=$MERIDIAN_ATTEMPT_ID secret=$MERIDIAN_SECRET_FOR_TEST"; echo oops >&2; exit 7',
        ],
        {
          MODE: "fast",
        },
      ),
      (stream, data) => {
        output[stream] += data;
      },
    );
    expect(await running.exited).toEqual({ exitCode: 7, oomKilled: false });
    expect(output.stdout).toMatch(/^mode=fast id=att_[0-9a-f]+ secret=\n$/);
    expect(output.stderr).toBe("oops\n");
    await running.remove();
    expect(running.state).toBe("removed");
    delete process.env.MERIDIAN_SECRET_FOR_TEST;
  });

  it("stops a running command (and the children it started) with SIGTERM", async () => {
    const runtime = new HostProcessRuntime({
      workDir: await mkdtemp(join(tmpdir(), "meridian-host-")),
      stopGraceSeconds: 5,
    });
    const running = await runtime.start(spec(["sh", "-c", "sleep 300 & wait"]), () => {});
    expect(running.state).toBe("running");
    await running.stop();
    expect((await running.exited).exitCode).toBe(128 + 15);
  });

  it("refuses an assignment without a command, and a command that does not exist", async () => {
    const runtime = new HostProcessRuntime({ workDir: await mkdtemp(join(tmpdir(), "meridian-host-")) });
    await expect(runtime.start(spec([]), () => {})).rejects.toThrow(/explicit command/);
    await expect(runtime.start(spec(["/nonexistent/binary"]), () => {})).rejects.toThrow(/ENOENT/);
  });
});
