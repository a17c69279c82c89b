import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { join } from "node:path";
import { SIGNATURE_WINDOW_MS } from "../../shared/agent-signature.js";
import type { GpuDetection } from "../gpu-detect.js";
import { IDENTITY_FILE } from "../identity.js";
import type { HealthProbe } from "../provider-api.js";
import { checkToolkit } from "./toolkit-check.js";

export type CheckStatus = "ok" | "warn" | "fail" | "skip";

export interface CheckResult {
  name: string;
  status: CheckStatus;
  message: string;
  /** What to do about it, for anything not ok. */
  fix?: string;
}

/** What the doctor looks at, each behind a function so tests can hand in fakes. */
export interface DoctorDeps {
  dataDir: string;
  runtime: "docker" | "host";
  detectGpus: () => Promise<GpuDetection>;
  /** Whether the Docker engine answers, and where it was looked for. */
  pingDocker: () => Promise<boolean>;
  dockerLocation: string;
  /** Runs a container with a GPU device request; resolves with its output or rejects with why. */
  probeGpuContainer: (gpuUuid: string) => Promise<string>;
  health: () => Promise<HealthProbe>;
  /** The installed NVIDIA Container Toolkit's version (toolkit-check.ts); unset: not checked. */
  toolkitVersion?: () => Promise<{ version: string; tool: string } | undefined>;
}

/** Allowed skew: well inside the signature window, so a request is not refused as stale. */
export const MAX_SKEW_MS = Math.min(5_000, SIGNATURE_WINDOW_MS / 4);

export async function runDoctor(deps: DoctorDeps): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  results.push(await checkDataDir(deps.dataDir));

  const detection = await deps.detectGpus();
  if (detection.gpus.length > 0) {
    results.push({
      name: "NVIDIA driver",
      status: "ok",
      message: `${detection.gpus.length} GPU(s): ${detection.gpus.map((gpu) => gpu.name).join(", ")}`,
    });
  } else {
    results.push({
      name: "NVIDIA driver",
      status: "warn",
      message: `no GPU found: ${detection.note ?? "nvidia-smi reported none"}; this node would join as a CPU node`,
      fix:
        "install the NVIDIA driver (e.g. sudo ubuntu-drivers install, or the .run installer from nvidia.com), " +
        "reboot, and check that `nvidia-smi` lists your GPUs (or set MERIDIAN_NVIDIA_SMI to its path)",
    });
  }

  let dockerUp = false;
  if (deps.runtime === "host") {
    results.push({
      name: "Docker engine",
      status: "skip",
      message: "runtime host: jobs run as plain processes (no isolation; trusted hosts only)",
    });
  } else {
    dockerUp = await deps.pingDocker();
    results.push(
      dockerUp
        ? { name: "Docker engine", status: "ok", message: `answers at ${deps.dockerLocation}` }
        : {
            name: "Docker engine",
            status: "fail",
            message: `no Docker engine answers at ${deps.dockerLocation}`,
            fix:
              "install Docker Engine (https://docs.docker.com/engine/install/), start it (sudo systemctl enable --now docker), " +
              "and let this user reach it (sudo usermod -aG docker $USER, then log in again); or set DOCKER_HOST / dockerSocket",
          },
    );
  }

  const firstGpu = detection.gpus[0];
  if (dockerUp && firstGpu !== undefined) {
    try {
      await deps.probeGpuContainer(firstGpu.uuid);
      results.push({ name: "GPU in containers", status: "ok", message: `a container sees ${firstGpu.name}` });
    } catch (error) {
      results.push({
        name: "GPU in containers",
        status: "fail",
        message: `a container could not use the GPU: ${error instanceof Error ? error.message : String(error)}`,
        fix:
          "install the NVIDIA Container Toolkit (https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html), " +
          "then: sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker",
      });
    }
  } else if (deps.runtime === "docker") {
    results.push({
      name: "GPU in containers",
      status: "skip",
      message: dockerUp ? "no GPU to test with" : "needs a running Docker engine",
    });
  }

  if (deps.runtime === "docker" && deps.toolkitVersion !== undefined) {
    results.push(checkToolkit(await deps.toolkitVersion(), detection.gpus.length > 0));
  }

  results.push(await checkClock(deps.health));
  return results;
}

async function checkDataDir(dataDir: string): Promise<CheckResult> {
  const name = "data folder";
  try {
    const info = await stat(dataDir);
    await access(dataDir, constants.W_OK);
    if ((info.mode & 0o077) !== 0) {
      return {
        name,
        status: "warn",
        message: `${dataDir} is open to other users (mode ${(info.mode & 0o777).toString(8)}); it holds the node key`,
        fix: `chmod 700 ${dataDir}`,
      };
    }
    const key = join(dataDir, IDENTITY_FILE);
    const keyInfo = await stat(key).catch(() => undefined);
    if (keyInfo !== undefined && (keyInfo.mode & 0o077) !== 0) {
      return {
        name,
        status: "fail",
        message: `${key} is readable by other users; the agent refuses to sign with it`,
        fix: `chmod 600 ${key}`,
      };
    }
    return { name, status: "ok", message: `${dataDir} is private and writable` };
  } catch (error) {
    return {
      name,
      status: "fail",
      message: `${dataDir} is not a writable folder: ${error instanceof Error ? error.message : String(error)}`,
      fix: `mkdir -p ${dataDir} && chmod 700 ${dataDir} (as the user the agent runs as), or pass --data-dir`,
    };
  }
}

async function checkClock(health: () => Promise<HealthProbe>): Promise<CheckResult> {
  const name = "clock";
  let probe: HealthProbe;
  try {
    probe = await health();
  } catch (error) {
    return {
      name: "control plane",
      status: "fail",
      message: error instanceof Error ? error.message : String(error),
      fix: "check the controlPlane URL in the config and that this host can reach it",
    };
  }
  if (probe.serverTime === undefined) {
    return { name, status: "skip", message: "the control plane sent no Date header to compare with" };
  }
  // The Date header has one-second resolution, so a skew under a second is not measurable here.
  const skew = probe.localMidpoint - probe.serverTime;
  const seconds = (Math.abs(skew) / 1000).toFixed(1);
  if (Math.abs(skew) <= MAX_SKEW_MS) {
    return {
      name,
      status: "ok",
      message: `within ${seconds} s of the control plane (RTT ${Math.round(probe.rttMs)} ms)`,
    };
  }
  return {
    name,
    status: "fail",
    message: `this clock is ${seconds} s ${skew > 0 ? "ahead of" : "behind"} the control plane; signed requests will be refused`,
    fix: "turn on time synchronisation: sudo timedatectl set-ntp true (or install chrony)",
  };
}

export function formatDoctor(results: readonly CheckResult[]): string {
  const mark: Record<CheckStatus, string> = { ok: "ok  ", warn: "WARN", fail: "FAIL", skip: "--  " };
  return results
    .map((result) => {
      const line = `[${mark[result.status]}] ${result.name}: ${result.message}`;
      return result.fix ? `${line}\n       fix: ${result.fix}` : line;
    })
    .join("\n");
}
