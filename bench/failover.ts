/**
 * bench:failover — how fast a job runs again elsewhere when its node fails, on the local stack
 * (`wrangler dev` with a deployment's timing, real agents, real containers on the Docker engine).
 *
 * - kill: the agent running the job is SIGKILLed (its connections close at once);
 * - partition: the agent's link is cut inside the machine — the agent runs in a network namespace
 *   of its own, reached over a veth pair, and iptables DROPs every packet on it: nothing closes,
 *   nothing resets, the region hears silence;
 * - slow link: healthy agents behind links that delay every chunk by up to seconds run jobs to the
 *   end; any `lost` on them is a healthy node wrongly declared gone.
 *
 * Baseline in the same run: the same kill and partition trials on a second stack where only the
 * lease can notice a failure (reconnect window and silence floor set past the 45 s lease), which is
 * how failover worked before the presence signal and the accrual detector.
 *
 *   npm run bench:failover -- [--kills 20] [--partitions 20] [--baseline 3] [--slow-seconds 90]
 *                             [--window 5000]   (RECONNECT_WINDOW_MS; default: wrangler.toml's)
 *
 * `--slow-seconds 0` skips the slow-link trial, `--baseline 0` the lease-only stack.
 */
import { parseArgs } from "node:util";
import { dockerAvailable } from "../test/support/docker.js";
import { UserClient } from "../test/support/user-client.js";
import { netnsAvailable } from "./failover-netns.js";
import { type SlowLinkResult, slowLinkTrial } from "./failover-slow-link.js";
import { AgentPool, type Fault, runTrial, type TrialResult } from "./failover-trials.js";
import { freshState, type LocalStack, startStack } from "./support/wrangler.js";

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "20" },
    partitions: { type: "string", default: "20" },
    baseline: { type: "string", default: "3" },
    "slow-seconds": { type: "string", default: "90" },
    window: { type: "string" },
  },
});
const kills = Number(values.kills);
const partitions = Number(values.partitions);
const baselineTrials = Number(values.baseline);
const slowSeconds = Number(values["slow-seconds"]);
const windowVars: Record<string, string> =
  values.window === undefined ? {} : { RECONNECT_WINDOW_MS: values.window };

/** One-way delays of the slow links: a far link, a congested one, a bad one (round trips up to ~7 s). */
const SLOW_LINKS = [
  { oneWayMs: 200, jitterMs: 100 },
  { oneWayMs: 1_000, jitterMs: 500 },
  { oneWayMs: 2_500, jitterMs: 1_000 },
];

/** Only the lease notices a failure: the presence window and the silence floor lie past it. */
const LEASE_ONLY = { RECONNECT_WINDOW_MS: "120000", MIN_SILENCE_MS: "600000" };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

function summary(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

function portOf(stack: LocalStack): number {
  return Number(new URL(stack.url).port);
}

async function trials(
  stack: LocalStack,
  user: UserClient,
  plan: { fault: Fault; n: number }[],
  timeoutMs: number,
  label: string,
): Promise<{ results: TrialResult[]; failures: string[] }> {
  const pool = new AgentPool(portOf(stack));
  const results: TrialResult[] = [];
  const failures: string[] = [];
  try {
    for (const { fault, n } of plan) {
      for (let i = 0; i < n; i++) {
        try {
          const result = await runTrial(pool, user, fault, timeoutMs);
          results.push(result);
          console.log(
            `${label} ${fault} ${i + 1}/${n}: lost ${result.lostMs} ms, placed ${result.placedMs} ms, running ${result.runningMs} ms — ${result.reason}${result.slowStart ? ` (slow start: ${result.slowStart})` : ""}`,
          );
        } catch (error) {
          failures.push(`${fault} ${i + 1}: ${String(error)}`);
          console.log(`${label} ${fault} ${i + 1}/${n} FAILED: ${String(error)}`);
          // A failed trial leaves its agents in an unknown state: start the next with fresh ones.
          await pool.retireAll();
        }
      }
    }
  } finally {
    await pool.retireAll();
  }
  return { results, failures };
}

function report(results: TrialResult[], fault: Fault): Record<"lost" | "placed" | "running", Summary> {
  const of = results.filter((r) => r.fault === fault);
  return {
    lost: summary(of.map((r) => r.lostMs)),
    placed: summary(of.map((r) => r.placedMs)),
    running: summary(of.map((r) => r.runningMs)),
  };
}

async function main(): Promise<void> {
  if (!dockerAvailable("bench:failover")) throw new Error("bench:failover needs the Docker engine");
  const why = await netnsAvailable();
  if (why !== null) throw new Error(`bench:failover needs network namespaces (run as root): ${why}`);
  const started = new Date().toISOString();

  // The presence signal and the accrual detector, with a deployment's timing (wrangler.toml).
  const stack = await startStack(await freshState(), windowVars);
  let slow: SlowLinkResult | undefined;
  let fast: { results: TrialResult[]; failures: string[] };
  try {
    const user = await UserClient.signup(stack.url);
    if (slowSeconds > 0) {
      const slowPool = new AgentPool(portOf(stack));
      try {
        slow = await slowLinkTrial(slowPool, user, SLOW_LINKS, slowSeconds);
      } finally {
        await slowPool.retireAll();
      }
      console.log(`slow link: ${JSON.stringify(slow)}`);
    }
    fast = await trials(
      stack,
      user,
      [
        { fault: "kill", n: kills },
        { fault: "partition", n: partitions },
      ],
      120_000,
      "presence",
    );
  } finally {
    await stack.dispose();
  }

  let base: { results: TrialResult[]; failures: string[] } = { results: [], failures: [] };
  if (baselineTrials > 0) {
    const leaseOnly = await startStack(await freshState(), LEASE_ONLY);
    try {
      const user = await UserClient.signup(leaseOnly.url);
      base = await trials(
        leaseOnly,
        user,
        [
          { fault: "kill", n: baselineTrials },
          { fault: "partition", n: baselineTrials },
        ],
        180_000,
        "lease-only",
      );
    } finally {
      await leaseOnly.dispose();
    }
  }

  const out = {
    started,
    reconnectWindowMs: values.window ?? "wrangler.toml",
    finished: new Date().toISOString(),
    presence: { kill: report(fast.results, "kill"), partition: report(fast.results, "partition") },
    leaseOnly: { kill: report(base.results, "kill"), partition: report(base.results, "partition") },
    ratios: {
      killRunningP50: report(fast.results, "kill").running.p50 / report(base.results, "kill").running.p50,
      partitionRunningP50:
        report(fast.results, "partition").running.p50 / report(base.results, "partition").running.p50,
    },
    reasons: [
      ...new Set(fast.results.map((r) => r.reason.replace(/node_\w+/, "node_…").replace(/[\d.]+/g, "#"))),
    ],
    failures: [...fast.failures, ...base.failures.map((f) => `lease-only ${f}`)],
    slowLink: slow,
    goals: {
      killRunningP50: "≤ 5000 ms",
      killRunningP99: "≤ 10000 ms",
      partitionRunningP99: "≤ 30000 ms",
      nodesWronglyLost: 0,
    },
  };
  console.log(JSON.stringify(out, null, 2));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
