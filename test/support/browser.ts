import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/**
 * The Chromium the browser tests drive: MERIDIAN_CHROMIUM, else Debian's `chromium` package (which
 * .ci/run installs; playwright-core 1.64.1 speaks its version's protocol). Without one the suite
 * skips loudly, and fails under MERIDIAN_REQUIRE_DOCKER=1 as the other real-part suites do.
 */
export function chromiumPath(suite: string): string | undefined {
  const path = [process.env.MERIDIAN_CHROMIUM, ...CANDIDATES].find(
    (candidate): candidate is string => candidate !== undefined && existsSync(candidate),
  );
  if (path) {
    try {
      execFileSync(path, ["--version"], { stdio: "pipe", timeout: 20_000 });
      return path;
    } catch {
      // present but not runnable: treated as missing
    }
  }
  if (process.env.MERIDIAN_REQUIRE_DOCKER === "1") {
    throw new Error(`${suite}: no Chromium found (apt-get install chromium, or set MERIDIAN_CHROMIUM)`);
  }
  console.warn(
    `\n!!! SKIPPED ${suite}: no Chromium (apt-get install chromium, or set MERIDIAN_CHROMIUM) !!!\n`,
  );
  return undefined;
}
