import { isAbsolute, relative, resolve } from "node:path";
import type Docker from "dockerode";
import type { IsolationConfig } from "./policy/isolation-policy.js";

/** The user a root image runs as under `user: "nonroot"`: nobody, who owns nothing on the host. */
export const NOBODY = "65534:65534";

/** Size of the private /tmp a read-only root gets (counted against the job's memory). */
export const READ_ONLY_TMP = "rw,nosuid,nodev,size=1g";

export interface IsolationInput {
  policy: Pick<IsolationConfig, "readOnlyRoot" | "user" | "pidsLimit">;
  /** `Config.User` of the image, as `docker image inspect` gives it ("" when it declares none). */
  imageUser: string;
  /** The job's own network (job-network.ts). */
  networkName: string;
  gpuUuids: readonly string[];
}

/**
 * Applies the host's isolation policy to a container's create options: its own network, the pids
 * limit, the user, a read-only root, the GPUs the NVIDIA runtime may expose. Returns new options.
 */
export function applyIsolation(
  options: Docker.ContainerCreateOptions,
  input: IsolationInput,
): Docker.ContainerCreateOptions {
  const host = options.HostConfig ?? {};
  // An image (or a user's env) saying NVIDIA_VISIBLE_DEVICES=all would get every GPU of the host
  // where nvidia is the default runtime: the variable is always ours, "void" meaning none.
  const env = (options.Env ?? []).filter((entry) => !entry.startsWith("NVIDIA_VISIBLE_DEVICES="));
  env.push(`NVIDIA_VISIBLE_DEVICES=${input.gpuUuids.length > 0 ? input.gpuUuids.join(",") : "void"}`);
  const user = chooseUser(input.policy.user, input.imageUser);
  return {
    ...options,
    Env: env,
    ...(user !== undefined ? { User: user } : {}),
    HostConfig: {
      ...host,
      NetworkMode: input.networkName,
      PidsLimit: input.policy.pidsLimit,
      // Not "shareable" (the engine's default): no other container can join this one's IPC.
      IpcMode: "private",
      // Under host memory pressure the kernel kills a job before the agent or the provider's own work.
      OomScoreAdj: 500,
      ...(input.policy.readOnlyRoot
        ? { ReadonlyRootfs: true, Tmpfs: { ...host.Tmpfs, "/tmp": READ_ONLY_TMP } }
        : {}),
    },
  };
}

function chooseUser(mode: IsolationConfig["user"], imageUser: string): string | undefined {
  if (mode === "image") return undefined;
  const name = imageUser.split(":")[0] ?? "";
  return name === "" || name === "root" || name === "0" ? NOBODY : undefined;
}

export class IsolationError extends Error {
  readonly code = "isolation_refused";
  constructor(problems: readonly string[]) {
    super(`refusing to start a container that would break host isolation: ${problems.join("; ")}`);
    this.name = "IsolationError";
  }
}

/** Paths a bind mount may never expose, whatever the job's folders are: the engine's socket above all. */
const FORBIDDEN_SOURCES = ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd", "/var/lib/docker"];

export interface IsolationRules {
  gpuUuids: readonly string[];
  /** Folders under which a job's own bind mounts may live (its scratch, inputs and outputs). */
  mountRoots: readonly string[];
}

/**
 * The last gate before the engine: whoever assembled the options (this file, a storage feature, a
 * future one), a container that would be privileged, keep a capability, share a host namespace,
 * skip seccomp, see a device or GPU it was not assigned, or mount anything but the job's own
 * folders is refused with every reason at once.
 */
export function assertIsolated(options: Docker.ContainerCreateOptions, rules: IsolationRules): void {
  const host = options.HostConfig ?? {};
  const problems: string[] = [];
  if (host.Privileged === true) problems.push("privileged");
  if ((host.CapAdd ?? []).length > 0) problems.push(`adds capabilities ${(host.CapAdd ?? []).join(",")}`);
  if (!(host.CapDrop ?? []).includes("ALL")) problems.push("does not drop all capabilities");
  const security = host.SecurityOpt ?? [];
  if (!security.includes("no-new-privileges")) problems.push("allows new privileges");
  for (const option of security) {
    if (/^(seccomp|apparmor|label)[=:]\s*(unconfined|disable)/i.test(option))
      problems.push(`security opt ${option}`);
  }
  for (const [name, mode] of [
    ["network", host.NetworkMode],
    ["pid", host.PidMode],
    ["ipc", host.IpcMode],
    ["uts", host.UTSMode],
    ["userns", host.UsernsMode],
  ] as const) {
    if (mode === "host" || (typeof mode === "string" && mode.startsWith("container:"))) {
      problems.push(`shares the ${name} namespace (${mode})`);
    }
  }
  if (host.NetworkMode === undefined || host.NetworkMode === "bridge" || host.NetworkMode === "default") {
    problems.push("is not on its own job network");
  }
  if (!(typeof host.PidsLimit === "number" && host.PidsLimit > 0)) problems.push("has no pids limit");
  if ((host.Devices ?? []).length > 0) problems.push("maps host devices");
  if ((host.VolumesFrom ?? []).length > 0) problems.push("mounts another container's volumes");
  const assigned = new Set(rules.gpuUuids);
  for (const request of host.DeviceRequests ?? []) {
    const ids = request.DeviceIDs ?? [];
    if (request.Count !== undefined && request.Count !== 0)
      problems.push("requests GPUs by count, not by id");
    for (const id of ids) if (!assigned.has(id)) problems.push(`requests GPU ${id}, not assigned`);
  }
  for (const source of mountSources(host)) {
    const why = mountProblem(source, rules.mountRoots);
    if (why !== undefined) problems.push(why);
  }
  if (problems.length > 0) throw new IsolationError(problems);
}

function mountSources(host: Docker.HostConfig): string[] {
  const sources = (host.Binds ?? []).map((bind) => bind.split(":")[0] ?? "");
  for (const mount of host.Mounts ?? []) {
    // tmpfs and named volumes hold nothing of the host's; binds and anything else are checked.
    if (mount.Type === "tmpfs") continue;
    sources.push(mount.Type === "volume" ? `volume:${mount.Source}` : mount.Source);
  }
  return sources;
}

function mountProblem(source: string, roots: readonly string[]): string | undefined {
  if (!isAbsolute(source)) return `mounts ${source}, not a folder of the job's`;
  const path = resolve(source);
  if (FORBIDDEN_SOURCES.some((forbidden) => path === forbidden || path.startsWith(`${forbidden}/`))) {
    return `mounts ${path} (the container engine)`;
  }
  const inside = roots.some((root) => {
    const rest = relative(resolve(root), path);
    return rest !== "" && !rest.startsWith("..") && !isAbsolute(rest);
  });
  return inside ? undefined : `mounts ${path}, outside the job's folders`;
}
