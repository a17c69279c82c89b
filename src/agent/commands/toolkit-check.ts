import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { CheckResult } from "./doctor.js";

const run = promisify(execFile);

/** A container-escape fix in the NVIDIA Container Toolkit, and the release that carries it. */
export interface ToolkitFix {
  cve: string;
  fixedIn: string;
  what: string;
}

/** Both let a crafted image reach the host's filesystem as root when it is given a GPU. */
export const TOOLKIT_FIXES: readonly ToolkitFix[] = [
  {
    cve: "CVE-2024-0132",
    fixedIn: "1.16.2",
    what: "a TOCTOU race lets an image mount the host's root filesystem",
  },
  {
    cve: "CVE-2025-23266",
    fixedIn: "1.17.8",
    what: "LD_PRELOAD in an image runs code in the createContainer hook as root",
  },
];

/** Compares dotted versions numerically ("1.17.10" > "1.17.8"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const left = a.split(".").map((part) => Number.parseInt(part, 10) || 0);
  const right = b.split(".").map((part) => Number.parseInt(part, 10) || 0);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const difference = (left[i] ?? 0) - (right[i] ?? 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

/** The version in `nvidia-ctk --version` or `nvidia-container-cli --version` output. */
export function parseToolkitVersion(output: string): string | undefined {
  return /(?:toolkit cli version|cli-version:|version:?)\s*v?(\d+\.\d+(?:\.\d+)?)/i.exec(output)?.[1];
}

/**
 * Asks the installed toolkit for its version: nvidia-ctk (1.12+) first, then the older
 * nvidia-container-cli. Undefined when neither is installed.
 */
export async function readToolkitVersion(): Promise<{ version: string; tool: string } | undefined> {
  for (const tool of ["nvidia-ctk", "nvidia-container-cli"]) {
    try {
      const { stdout, stderr } = await run(tool, ["--version"], { timeout: 10_000 });
      const version = parseToolkitVersion(`${stdout}\n${stderr}`);
      if (version !== undefined) return { version, tool };
    } catch {
      // Not installed (or not runnable): try the next one.
    }
  }
  return undefined;
}

export function checkToolkit(
  found: { version: string; tool: string } | undefined,
  gpusShared: boolean,
): CheckResult {
  const name = "NVIDIA Container Toolkit";
  if (found === undefined) {
    return gpusShared
      ? {
          name,
          status: "fail",
          message: "not found (neither nvidia-ctk nor nvidia-container-cli); containers cannot use the GPUs",
          fix: `install it, at least ${latestFix().fixedIn}: https://docs.nvidia.com/datacenter/cloud-native/container-toolkit/latest/install-guide.html`,
        }
      : { name, status: "skip", message: "not installed; no GPU is shared" };
  }
  const open = TOOLKIT_FIXES.filter((fix) => compareVersions(found.version, fix.fixedIn) < 0);
  if (open.length === 0) {
    return {
      name,
      status: "ok",
      message: `${found.version} (${found.tool}) has the fixes for ${TOOLKIT_FIXES.map((fix) => fix.cve).join(" and ")}`,
    };
  }
  return {
    name,
    status: "fail",
    message:
      `${found.version} is open to ${open.map((fix) => `${fix.cve} (${fix.what}; fixed in ${fix.fixedIn})`).join(" and ")}: ` +
      "a job's image could take over this host",
    fix:
      `upgrade to ${latestFix().fixedIn} or later: sudo apt-get update && sudo apt-get install --only-upgrade ` +
      "nvidia-container-toolkit nvidia-container-toolkit-base libnvidia-container-tools libnvidia-container1 " +
      "(dnf/yum: sudo dnf upgrade nvidia-container-toolkit), then sudo systemctl restart docker",
  };
}

function latestFix(): ToolkitFix {
  return TOOLKIT_FIXES.reduce((latest, fix) =>
    compareVersions(fix.fixedIn, latest.fixedIn) > 0 ? fix : latest,
  );
}
