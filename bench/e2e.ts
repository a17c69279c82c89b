/**
 * bench:e2e — submit → running and submit → succeeded for a trivial job (image present), over the
 * local stack: `wrangler dev` + one real agent + the Docker engine. Baseline in the same run: the
 * same container started directly through the Docker Engine API, with no control plane.
 * Also measures what an idle agent costs the control plane (requests/s at rest).
 *
 *   npm run bench:e2e -- [--jobs 50] [--idle-seconds 65]
 */
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import Docker from "dockerode";
import { startAgent } from "../src/agent/agent.js";
import { silentLog } from "../src/agent/agent-log.js";
import { isTerminal } from "../src/shared/job-status.js";
import { startControlPlane } from "../test/support/control-plane.js";
import { TEST_IMAGE } from "../test/support/docker.js";
import { UserClient } from "../test/support/user-client.js";

const { values } = parseArgs({
  options: { jobs: { type: "string", default: "50" }, "idle-seconds": { type: "string", default: "65" } },
});
const jobCount = Number(values.jobs);
const idleSeconds = Number(values["idle-seconds"]);

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

function summary(samples: number[]): { p50: number; p99: number; mean: number; n: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = samples.reduce((sum, x) => sum + x, 0) / Math.max(1, samples.length);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: Math.round(mean),
    n: samples.length,
  };
}

/** The same trivial container, started and awaited directly: what the control plane adds to. */
async function directDocker(runs: number): Promise<{ toRunning: number[]; toExit: number[] }> {
  const docker = new Docker();
  const toRunning: number[] = [];
  const toExit: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = Date.now();
    const container = await docker.createContainer({
      Image: TEST_IMAGE,
      Cmd: ["true"],
      HostConfig: { CapDrop: ["ALL"] },
    });
    await container.start();
    toRunning.push(Date.now() - t0);
    await container.wait();
    toExit.push(Date.now() - t0);
    await container.remove({ force: true });
  }
  return { toRunning, toExit };
}

// Count the agent's requests by wrapping fetch before the agent captures it.
let agentRequests = 0;
const agentRequestTimes: number[] = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
  if (url.includes("/v1/agent/")) {
    agentRequests++;
    agentRequestTimes.push(Date.now());
  }
  return realFetch(input, init);
};

const plane = await startControlPlane();
const dataDir = await mkdtemp(path.join(tmpdir(), "meridian-bench-agent-"));
const agent = await startAgent({
  dataDir,
  controlPlane: plane.url,
  nvidiaSmi: "/nonexistent",
  log: silentLog,
});
try {
  await agent.registered;
  const user = await UserClient.signup(plane.url);

  // Warm-up: the first job pays for workerd's and the Region object's cold start.
  const warm = await user.submit({ name: "warm", image: TEST_IMAGE, command: ["true"] });
  await user.waitFor(warm.id, (j) => isTerminal(j.status), 60_000, 20);

  const toRunning: number[] = [];
  const toSucceeded: number[] = [];
  for (let i = 0; i < jobCount; i++) {
    const t0 = Date.now();
    const job = await user.submit({ name: `bench-${i}`, image: TEST_IMAGE, command: ["true"] });
    const done = await user.waitFor(job.id, (j) => isTerminal(j.status), 60_000, 10);
    if (done.status !== "succeeded" || !done.startedAt || !done.endedAt) {
      throw new Error(`job ${job.id} ended ${done.status}: ${done.reason}`);
    }
    // Server-side timestamps on the same clock: no polling delay in the figures.
    toRunning.push(Date.parse(done.startedAt) - t0);
    toSucceeded.push(Date.parse(done.endedAt) - t0);
  }

  const baseline = await directDocker(Math.min(jobCount, 20));

  agentRequests = 0;
  agentRequestTimes.length = 0;
  const idleStart = Date.now();
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
  const idleRate = agentRequests / ((Date.now() - idleStart) / 1000);
  // Steady state: the mean gap between the agent's requests once it is idle (the window's edges
  // cut a held poll in two, which the plain count above over-weights for short windows).
  const gaps = agentRequestTimes.slice(1).map((t, i) => t - (agentRequestTimes[i] ?? t));
  const steadyRate = gaps.length > 0 ? 1000 / (gaps.reduce((a, b) => a + b, 0) / gaps.length) : Number.NaN;

  const result = {
    bench: "e2e",
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version },
    jobs: jobCount,
    submitToRunningMs: summary(toRunning),
    submitToSucceededMs: summary(toSucceeded),
    directDockerStartMs: summary(baseline.toRunning),
    directDockerExitMs: summary(baseline.toExit),
    overheadRatioP50: Number(
      (
        percentile(
          [...toSucceeded].sort((a, b) => a - b),
          50,
        ) /
        percentile(
          [...baseline.toExit].sort((a, b) => a - b),
          50,
        )
      ).toFixed(2),
    ),
    idleAgentRequestsPerSecond: Number(idleRate.toFixed(4)),
    idleAgentSteadyRequestsPerSecond: Number(steadyRate.toFixed(4)),
  };
  console.log(JSON.stringify(result));
} finally {
  await agent.stop();
  await plane.stop();
  await rm(dataDir, { recursive: true, force: true });
  globalThis.fetch = realFetch;
}
