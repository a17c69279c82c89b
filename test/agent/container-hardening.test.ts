import { describe, expect, it } from "vitest";
import {
  applyIsolation,
  assertIsolated,
  IsolationError,
  NOBODY,
} from "../../src/agent/container-hardening.js";
import { buildCreateOptions } from "../../src/agent/docker-runtime.js";
import { DEFAULT_ISOLATION } from "../../src/agent/policy/isolation-policy.js";

const base = applyIsolation(
  buildCreateOptions({
    jobId: "job_1",
    attemptId: "att_1",
    nodeId: "node_1",
    image: "img",
    command: [],
    env: { NVIDIA_VISIBLE_DEVICES: "all", A: "1" },
    gpuUuids: ["GPU-a"],
    cpus: 1,
    memoryMib: 64,
  }),
  { policy: DEFAULT_ISOLATION, imageUser: "", networkName: "meridian-net-att_1", gpuUuids: ["GPU-a"] },
);
const rules = { gpuUuids: ["GPU-a"], mountRoots: ["/data/jobs/att_1"] };

function withHost(host: Record<string, unknown>): typeof base {
  return { ...base, HostConfig: { ...base.HostConfig, ...host } };
}

function problemsOf(options: typeof base): string {
  try {
    assertIsolated(options, rules);
    return "";
  } catch (error) {
    expect(error).toBeInstanceOf(IsolationError);
    return error instanceof Error ? error.message : String(error);
  }
}

describe("container hardening", () => {
  it("passes the options the runtime builds, with the job's own GPU list forced", () => {
    expect(problemsOf(base)).toBe("");
    expect(base.Env).toContain("NVIDIA_VISIBLE_DEVICES=GPU-a");
    expect(base.Env).not.toContain("NVIDIA_VISIBLE_DEVICES=all");
    expect(base.User).toBeUndefined();
  });

  it("runs a root image as nobody under user nonroot, and keeps an image's own non-root user", () => {
    const policy = { ...DEFAULT_ISOLATION, user: "nonroot" as const };
    const input = { policy, networkName: "n", gpuUuids: [] };
    expect(applyIsolation({}, { ...input, imageUser: "" }).User).toBe(NOBODY);
    expect(applyIsolation({}, { ...input, imageUser: "root:root" }).User).toBe(NOBODY);
    expect(applyIsolation({}, { ...input, imageUser: "1000" }).User).toBeUndefined();
  });

  it.each([
    [{ Privileged: true }, "privileged"],
    [{ CapAdd: ["SYS_ADMIN"] }, "adds capabilities SYS_ADMIN"],
    [{ CapDrop: [] }, "does not drop all capabilities"],
    [{ SecurityOpt: ["seccomp=unconfined", "no-new-privileges"] }, "security opt seccomp=unconfined"],
    [{ SecurityOpt: [] }, "allows new privileges"],
    [{ NetworkMode: "host" }, "shares the network namespace"],
    [{ NetworkMode: "bridge" }, "is not on its own job network"],
    [{ PidMode: "host" }, "shares the pid namespace"],
    [{ IpcMode: "container:abc" }, "shares the ipc namespace"],
    [{ PidsLimit: 0 }, "has no pids limit"],
    [
      { Devices: [{ PathOnHost: "/dev/sda", PathInContainer: "/dev/sda", CgroupPermissions: "rwm" }] },
      "maps host devices",
    ],
    [
      { DeviceRequests: [{ Driver: "nvidia", DeviceIDs: ["GPU-b"], Capabilities: [["gpu"]] }] },
      "requests GPU GPU-b",
    ],
    [{ DeviceRequests: [{ Driver: "nvidia", Count: -1, Capabilities: [["gpu"]] }] }, "by count"],
    [{ Binds: ["/var/run/docker.sock:/var/run/docker.sock"] }, "the container engine"],
    [{ Mounts: [{ Type: "bind", Source: "/run/docker.sock", Target: "/s" }] }, "the container engine"],
    [{ Binds: ["/etc:/host-etc:ro"] }, "outside the job's folders"],
    [{ Binds: ["/data/jobs/att_1/../att_2:/out"] }, "outside the job's folders"],
    [{ Binds: ["/data/jobs/att_1:/all"] }, "outside the job's folders"],
    [{ Binds: ["named:/x"] }, "not a folder of the job's"],
  ])("refuses %j", (host, why) => {
    expect(problemsOf(withHost(host))).toContain(why);
  });

  it("allows a bind of the job's own folders and a tmpfs", () => {
    const options = withHost({
      Binds: ["/data/jobs/att_1/output:/output"],
      Mounts: [{ Type: "tmpfs", Target: "/scratch" }],
    });
    expect(problemsOf(options)).toBe("");
  });
});
