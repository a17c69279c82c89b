import { execFileSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { networkInterfaces } from "node:os";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerSpec, RunningContainer } from "../../src/agent/container-runtime.js";
import { DockerRuntime } from "../../src/agent/docker-runtime.js";
import { jobBridgeName, jobNetworkName } from "../../src/agent/job-network.js";
import { type EgressPolicy, IsolationConfig } from "../../src/agent/policy/isolation-policy.js";
import { newId } from "../../src/shared/ids.js";
import { dockerAvailable, TEST_IMAGE } from "../support/docker.js";
import { EgressTargets } from "../support/egress-targets.js";

// Everything this file starts carries this label, so afterAll removes exactly what it made.
const RUN = `isolation-${process.pid}`;
const RUN_LABEL = { "meridian.test": RUN };

function spec(command: string[], overrides: Partial<ContainerSpec> = {}): ContainerSpec {
  return {
    jobId: newId("job"),
    attemptId: newId("att"),
    nodeId: `node_${RUN}`,
    image: TEST_IMAGE,
    command,
    env: {},
    gpuUuids: [],
    cpus: 1,
    memoryMib: 128,
    ...overrides,
  };
}

function runtimeWith(isolation: Partial<IsolationConfig> = {}): DockerRuntime {
  return new DockerRuntime({
    stopGraceSeconds: 1,
    extraLabels: RUN_LABEL,
    isolation: IsolationConfig.parse(isolation),
  });
}

/** Runs a command in a job container and returns its exit code and output. */
async function runJob(
  runtime: DockerRuntime,
  job: ContainerSpec,
): Promise<{ exitCode: number; output: string; container: RunningContainer }> {
  let output = "";
  const container = await runtime.start(job, (_stream, data) => {
    output += data;
  });
  const exit = await container.exited;
  return { exitCode: exit.exitCode, output, container };
}

function inspect(id: string): Docker.ContainerInspectInfo {
  return JSON.parse(execFileSync("docker", ["inspect", id], { encoding: "utf8" }))[0];
}

function iptablesRulesOf(bridge: string): string[] {
  return ["INPUT", "DOCKER-USER"].flatMap((chain) =>
    execFileSync("iptables", ["-w", "-S", chain], { encoding: "utf8" })
      .split("\n")
      .filter((line) => line.includes(`meridian:${bridge}`)),
  );
}

function networkExists(name: string): boolean {
  try {
    execFileSync("docker", ["network", "inspect", name], { stdio: "pipe" });
    return true;
  } catch {
    return false;
  }
}

/** A non-loopback IPv4 address of the host, as a job would find it on the LAN. */
function hostAddress(): string {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === "IPv4" && !address.internal && !address.address.startsWith("172.17.")) {
        return address.address;
      }
    }
  }
  throw new Error("the host has no non-loopback IPv4 address");
}

/** `nc` from inside a job: prints what the server said, or "refused" when it could not connect. */
function probe(address: string, port: number): string[] {
  return ["sh", "-c", `echo | nc -w 1 ${address} ${port} 2>/dev/null || echo refused`];
}

describe.skipIf(!dockerAvailable("container isolation"))("container isolation (real containers)", () => {
  let hostPort: Server;
  let port = 0;
  const targets = new EgressTargets(RUN);

  beforeAll(async () => {
    // Stands in for the agent's metrics port or any service the provider binds on all addresses.
    hostPort = createServer((socket) => socket.end("host-secret\n"));
    await new Promise<void>((resolve) => hostPort.listen(0, "0.0.0.0", resolve));
    const address = hostPort.address();
    port = typeof address === "object" && address !== null ? address.port : 0;
    targets.start();
  });

  afterAll(async () => {
    hostPort.close();
    targets.stop();
    const runtime = runtimeWith();
    const left = await runtime.docker.listContainers({
      all: true,
      filters: { label: [`meridian.test=${RUN}`] },
    });
    await Promise.all(left.map((info) => runtime.docker.getContainer(info.Id).remove({ force: true })));
    await runtime.removeLeftovers(`node_${RUN}`);
  });

  it("runs the job unprivileged, with no capability, no new privileges, seccomp, a pids limit, on its own network", async () => {
    const runtime = runtimeWith();
    await runtime.ensureImage(TEST_IMAGE);
    const job = spec([
      "sh",
      "-c",
      "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status; sleep 1",
    ]);
    const { exitCode, output, container } = await runJob(runtime, job);
    expect(exitCode).toBe(0);
    expect(output).toMatch(/CapEff:\s+0000000000000000/);
    expect(output).toMatch(/CapBnd:\s+0000000000000000/);
    expect(output).toMatch(/NoNewPrivs:\s+1/);
    // 2: a seccomp filter is in force (the engine's default profile; nothing asked for unconfined).
    expect(output).toMatch(/Seccomp:\s+2/);

    const info = inspect(container.id);
    expect(info.HostConfig).toMatchObject({
      Privileged: false,
      CapDrop: ["ALL"],
      SecurityOpt: ["no-new-privileges"],
      PidsLimit: 4096,
      NetworkMode: jobNetworkName(job.attemptId),
      IpcMode: "private",
      ReadonlyRootfs: false,
    });
    expect(info.HostConfig.CapAdd ?? null).toBeNull();
    expect(info.HostConfig.Binds ?? []).toEqual([]);
    expect(info.HostConfig.Devices ?? []).toEqual([]);
    expect(info.HostConfig.DeviceRequests ?? null).toBeNull();
    expect(info.Mounts).toEqual([]);
    expect(JSON.stringify(info)).not.toContain("docker.sock");
    const network = JSON.parse(
      execFileSync("docker", ["network", "inspect", jobNetworkName(job.attemptId)], { encoding: "utf8" }),
    )[0];
    expect(network.Labels).toMatchObject({
      "meridian.attempt": job.attemptId,
      "meridian.egress": "internet",
    });
    expect(network.Options["com.docker.network.bridge.name"]).toBe(jobBridgeName(job.attemptId));
    expect(iptablesRulesOf(jobBridgeName(job.attemptId)).length).toBeGreaterThan(0);

    await container.remove();
    expect(networkExists(jobNetworkName(job.attemptId))).toBe(false);
    expect(iptablesRulesOf(jobBridgeName(job.attemptId))).toEqual([]);
  });

  it("with readOnlyRoot and user nonroot: nobody, a read-only root, a writable private /tmp", async () => {
    const runtime = runtimeWith({ readOnlyRoot: true, user: "nonroot", pidsLimit: 128 });
    const job = spec([
      "sh",
      "-c",
      "id -u; touch /root-file 2>/dev/null && echo root-writable; touch /tmp/ok && echo tmp-ok",
    ]);
    const { exitCode, output, container } = await runJob(runtime, job);
    expect(exitCode).toBe(0);
    expect(output.split("\n")).toEqual(["65534", "tmp-ok", ""]);
    expect(inspect(container.id).HostConfig).toMatchObject({ ReadonlyRootfs: true, PidsLimit: 128 });
    expect(inspect(container.id).Config).toMatchObject({ User: "65534:65534" });
    await container.remove();
  });

  it("caps the number of processes: a fork bomb hits the pids limit, the host does not", async () => {
    const runtime = runtimeWith({ pidsLimit: 64 });
    const job = spec([
      "sh",
      "-c", // The bomb runs in a child shell (which dies when fork fails); the count uses builtins only.
      'sh -c "for i in \\$(seq 1 200); do sleep 5 & done" 2>/dev/null; set -- /proc/[0-9]*; echo spawned=$#',
    ]);
    const { output, container } = await runJob(runtime, job);
    const spawned = Number(/spawned=(\d+)/.exec(output)?.[1] ?? "0");
    // Right at the limit: it forked until the kernel said no, and no further.
    expect(spawned).toBeGreaterThan(50);
    expect(spawned).toBeLessThanOrEqual(64);
    await container.remove();
  });

  it("gives a GPU-less job no GPU even when its env asks for all of them", () => {
    const job = spec(["true"], { env: { NVIDIA_VISIBLE_DEVICES: "all" } });
    return runJob(runtimeWith(), job).then(async ({ container }) => {
      const env = inspect(container.id).Config.Env;
      expect(env.filter((entry) => entry.startsWith("NVIDIA_VISIBLE_DEVICES="))).toEqual([
        "NVIDIA_VISIBLE_DEVICES=void",
      ]);
      await container.remove();
    });
  });

  for (const egress of ["none", "internet", "all"] as const satisfies readonly EgressPolicy[]) {
    it(`egress ${egress}: never the host's ports; public ${egress === "none" ? "no" : "yes"}, LAN ${egress === "all" ? "yes" : "no"}`, async () => {
      const runtime = runtimeWith({ egress });
      const job = spec(["sleep", "60"]);
      const container = await runtime.start(job, () => {});
      try {
        const network = JSON.parse(
          execFileSync("docker", ["network", "inspect", jobNetworkName(job.attemptId)], { encoding: "utf8" }),
        )[0];
        const gateway: string = network.IPAM.Config[0].Gateway;
        const reach = (address: string, p: number): string =>
          execFileSync("docker", ["exec", container.id, ...probe(address, p)], { encoding: "utf8" }).trim();
        expect(reach(gateway, port)).toBe("refused");
        expect(reach(hostAddress(), port)).toBe("refused");
        expect(reach(targets.publicAddress, targets.port)).toBe(egress === "none" ? "refused" : "pong");
        expect(reach(targets.lanAddress, targets.port)).toBe(egress === "all" ? "pong" : "refused");
      } finally {
        await container.remove();
      }
    });
  }

  it("a job cannot reach another job's container, even with egress all", async () => {
    const runtime = runtimeWith({ egress: "all" });
    const serverJob = spec(["sh", "-c", "while true; do echo pong | nc -l -p 8080; done"]);
    const server = await runtime.start(serverJob, () => {});
    try {
      const serverInfo = inspect(server.id);
      const serverIp =
        serverInfo.NetworkSettings.Networks[jobNetworkName(serverJob.attemptId)]?.IPAddress ?? "";
      expect(serverIp).not.toBe("");
      // The control: the server answers from its own network namespace.
      const own = execFileSync("docker", ["exec", server.id, "sh", "-c", "echo | nc -w 1 127.0.0.1 8080"], {
        encoding: "utf8",
      });
      expect(own.trim()).toBe("pong");
      const { output, container } = await runJob(runtime, spec(probe(serverIp, 8080)));
      expect(output.trim()).toBe("refused");
      await container.remove();
    } finally {
      await server.remove();
    }
  });
});
