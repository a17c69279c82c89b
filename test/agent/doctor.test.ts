import { chmod, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type DoctorDeps, formatDoctor, runDoctor } from "../../src/agent/commands/doctor.js";

const H100 = {
  index: 0,
  uuid: "GPU-aaaa",
  name: "NVIDIA H100 80GB HBM3",
  model: "H100-SXM",
  vramMib: 81_559,
};

async function deps(overrides: Partial<DoctorDeps> = {}): Promise<DoctorDeps> {
  const dataDir = await mkdtemp(join(tmpdir(), "meridian-doctor-"));
  await chmod(dataDir, 0o700);
  return {
    dataDir,
    runtime: "docker",
    detectGpus: async () => ({ gpus: [H100] }),
    pingDocker: async () => true,
    dockerLocation: "/var/run/docker.sock",
    probeGpuContainer: async () => "GPU 0: NVIDIA H100 80GB HBM3",
    health: async () => ({ serverTime: 1_000_000, localMidpoint: 1_000_300, rttMs: 40 }),
    ...overrides,
  };
}

const byName = (results: Awaited<ReturnType<typeof runDoctor>>, name: string) =>
  results.find((result) => result.name === name);

describe("doctor", () => {
  it("passes a healthy GPU host", async () => {
    const results = await runDoctor(await deps());
    expect(results.map((result) => [result.name, result.status])).toEqual([
      ["data folder", "ok"],
      ["NVIDIA driver", "ok"],
      ["Docker engine", "ok"],
      ["GPU in containers", "ok"],
      ["clock", "ok"],
    ]);
  });

  it("names a missing driver, a missing engine and how to fix each", async () => {
    const results = await runDoctor(
      await deps({
        detectGpus: async () => ({ gpus: [], note: "nvidia-smi not found (no NVIDIA driver installed)" }),
        pingDocker: async () => false,
      }),
    );
    expect(byName(results, "NVIDIA driver")).toMatchObject({
      status: "warn",
      fix: expect.stringContaining("nvidia-smi"),
    });
    expect(byName(results, "Docker engine")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("systemctl enable --now docker"),
    });
    expect(byName(results, "GPU in containers")).toMatchObject({ status: "skip" });
  });

  it("names a GPU that containers cannot reach and points at the container toolkit", async () => {
    const results = await runDoctor(
      await deps({
        probeGpuContainer: async () => {
          throw new Error('could not select device driver "nvidia" with capabilities: [[gpu]]');
        },
      }),
    );
    expect(byName(results, "GPU in containers")).toMatchObject({
      status: "fail",
      message: expect.stringContaining("could not select device driver"),
      fix: expect.stringContaining("nvidia-ctk runtime configure"),
    });
  });

  it("measures clock skew against the control plane's Date header", async () => {
    const results = await runDoctor(
      await deps({ health: async () => ({ serverTime: 1_000_000, localMidpoint: 1_045_000, rttMs: 30 }) }),
    );
    expect(byName(results, "clock")).toMatchObject({
      status: "fail",
      message: expect.stringContaining("45.0 s ahead of"),
      fix: expect.stringContaining("timedatectl set-ntp true"),
    });
  });

  it("says when the control plane cannot be reached, and skips Docker checks on the host runtime", async () => {
    const results = await runDoctor(
      await deps({
        runtime: "host",
        health: async () => {
          throw new Error("cannot reach the control plane at http://x");
        },
      }),
    );
    expect(byName(results, "Docker engine")).toMatchObject({ status: "skip" });
    expect(byName(results, "control plane")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("controlPlane"),
    });
  });

  it("flags a data folder other users can read", async () => {
    const options = await deps();
    await chmod(options.dataDir, 0o755);
    const results = await runDoctor(options);
    expect(byName(results, "data folder")).toMatchObject({
      status: "warn",
      fix: `chmod 700 ${options.dataDir}`,
    });
    expect(formatDoctor(results)).toContain("[WARN] data folder");
  });
});
