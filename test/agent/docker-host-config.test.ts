import { describe, expect, it } from "vitest";
import { buildCreateOptions, buildHostConfig } from "../../src/agent/docker-runtime.js";
import { newId } from "../../src/shared/ids.js";

describe("container host config", () => {
  it("requests no GPU device for a CPU job", () => {
    const config = buildHostConfig({ cpus: 2, memoryMib: 512, gpuUuids: [] });
    expect(config.DeviceRequests).toBeUndefined();
  });

  it("requests exactly the assigned GPU, by uuid", () => {
    const config = buildHostConfig({ cpus: 2, memoryMib: 512, gpuUuids: ["GPU-a"] });
    expect(config.DeviceRequests).toEqual([
      { Driver: "nvidia", DeviceIDs: ["GPU-a"], Capabilities: [["gpu"]] },
    ]);
  });

  it("requests exactly the two assigned GPUs, in one request", () => {
    const config = buildHostConfig({ cpus: 2, memoryMib: 512, gpuUuids: ["GPU-a", "GPU-b"] });
    expect(config.DeviceRequests).toEqual([
      { Driver: "nvidia", DeviceIDs: ["GPU-a", "GPU-b"], Capabilities: [["gpu"]] },
    ]);
  });

  it("limits resources and drops every privilege", () => {
    const config = buildHostConfig({ cpus: 1.5, memoryMib: 256, gpuUuids: [] });
    expect(config).toMatchObject({
      NanoCpus: 1_500_000_000,
      Memory: 256 * 1024 * 1024,
      MemorySwap: 256 * 1024 * 1024,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      Privileged: false,
      Binds: [],
      Mounts: [],
    });
    expect(config.PidsLimit).toBeGreaterThan(0);
  });

  it("labels the container and passes the ids in the environment; no command means the image's own", () => {
    const attemptId = newId("att");
    const options = buildCreateOptions({
      jobId: "job_1",
      attemptId,
      nodeId: "node_1",
      image: "meridian/busybox:test",
      command: [],
      env: { A: "1" },
      gpuUuids: [],
      cpus: 1,
      memoryMib: 64,
    });
    expect(options.Cmd).toBeUndefined();
    expect(options.Env).toEqual(["A=1", "MERIDIAN_JOB_ID=job_1", `MERIDIAN_ATTEMPT_ID=${attemptId}`]);
    expect(options.Labels).toEqual({
      "meridian.job": "job_1",
      "meridian.attempt": attemptId,
      "meridian.node": "node_1",
    });
  });
});
