import { execFileSync } from "node:child_process";

/**
 * Whether a Docker engine answers here. Without one, Docker-backed suites skip and say so loudly;
 * with MERIDIAN_REQUIRE_DOCKER=1 (as .ci/run sets) a missing engine is an error, never a skip.
 */
export function dockerAvailable(suite: string): boolean {
  let ok = false;
  try {
    execFileSync("docker", ["info", "--format", "{{.ServerVersion}}"], { stdio: "pipe", timeout: 10_000 });
    ok = true;
  } catch {
    ok = false;
  }
  if (!ok && process.env.MERIDIAN_REQUIRE_DOCKER === "1") {
    throw new Error(`${suite}: no Docker engine answers, and MERIDIAN_REQUIRE_DOCKER=1 forbids skipping`);
  }
  if (!ok) {
    console.warn(
      `\n!!! SKIPPED ${suite}: no Docker engine answers (start dockerd, or run bash .ci/run which installs it) !!!\n`,
    );
  }
  return ok;
}

export const TEST_IMAGE = "meridian/busybox:test";

/** The local registry scripts/start-test-registry.sh starts, serving TEST_IMAGE under its own name. */
export const REGISTRY_IMAGE = "127.0.0.1:5000/meridian/busybox:test";

/** Whether that registry answers; the same skip-loudly-or-fail rule as for the engine. */
export function registryAvailable(suite: string): boolean {
  let ok = false;
  try {
    execFileSync("curl", ["-sf", "--max-time", "5", "http://127.0.0.1:5000/v2/"], { stdio: "pipe" });
    ok = true;
  } catch {
    ok = false;
  }
  if (!ok && process.env.MERIDIAN_REQUIRE_DOCKER === "1") {
    throw new Error(
      `${suite}: the local registry on 127.0.0.1:5000 does not answer (scripts/start-test-registry.sh)`,
    );
  }
  if (!ok)
    console.warn(
      `\n!!! SKIPPED ${suite}: no registry on 127.0.0.1:5000 (run scripts/start-test-registry.sh) !!!\n`,
    );
  return ok;
}
