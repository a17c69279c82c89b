#!/usr/bin/env node
// Runs every test suite: first the workerd suites (Worker, Durable Object, D1; the plain one and the
// one with verified GPUs required), then the Node
// suites (shared contract, agent on the real Docker engine, CLI, end-to-end). Suites that need a
// Docker engine skip loudly without one, unless MERIDIAN_REQUIRE_DOCKER=1 (set by .ci/run), where a
// missing engine fails the run.
import { spawnSync } from "node:child_process";

const extra = process.argv.slice(2);
const runs = [
  ["vitest", "run", "--config", "vitest.workers.config.ts", ...extra],
  // The production path: REQUIRE_VERIFIED_GPUS=true (test/worker/verified/).
  ["vitest", "run", "--config", "vitest.workers-verified.config.ts", ...extra],
  ["vitest", "run", "--config", "vitest.node.config.ts", ...extra],
];
let failed = false;
for (const args of runs) {
  const result = spawnSync("npx", args, { stdio: "inherit" });
  if (result.status !== 0) failed = true;
}
// Said again at the end, where it cannot scroll out of sight among the results.
const engine = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], {
  stdio: "pipe",
  timeout: 10_000,
});
if (engine.status !== 0) {
  console.warn(
    "\n!!! No Docker engine answered: the suites that run real containers were SKIPPED (agent Docker runtime,\n" +
      "!!! image pull, agent work loop, end-to-end, failover). Start dockerd, or run `bash .ci/run`, to run them.\n",
  );
}
process.exit(failed ? 1 : 0);
