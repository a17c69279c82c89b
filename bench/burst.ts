/**
 * bench:burst — a burst of jobs submitted at once through the HTTP API of the local stack (the
 * Worker, the Region Durable Object, local D1), placed on simulated signed
 * agents (the real agent protocol, no Docker): time until every job is placed (its submit answered
 * with a placement) and until every one is running (its agent's `started` report accepted).
 *
 * Where the time goes, from the same run: the same number of concurrent requests that stop at
 * the Worker (GET /v1/health), and that also authenticate (GET /v1/jobs?limit=1: the API-key
 * lookup in D1 and the rate limiter's Durable Object); the rest of a submit is the Region object
 * (admission, the scheduler) and the D1 writes it makes, counted here per job by SQLite triggers.
 *
 * Each harness in `--harness` runs in turn, on a fresh state of its own: `wrangler` is `wrangler
 * dev` (its ProxyWorker in front of the Worker), `direct` is bench/support/direct-stack.ts (the
 * deploy bundle on workerd with wrangler.toml's bindings and nothing in front, as a deployed
 * Worker is called). The Slurm-sized burst runs `--slurm-rounds` times; the median is compared
 * with Slurm's 1.6 s. The 1-minute load before and after the run is in the summary.
 *
 *   npm run bench:burst -- [--jobs 500] [--agents 30] [--slurm-jobs 60] [--slurm-rounds 3]
 *                          [--harness wrangler,direct]
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { UserClient } from "../test/support/user-client.js";
import { Fleet } from "./support/burst-fleet.js";
import { startDirectStack } from "./support/direct-stack.js";
import { hardware, SimAgent, summary } from "./support/sim-agent.js";
import {
  d1File,
  diffCounts,
  freshState,
  installWriteCounters,
  readWriteCounts,
  sqlite,
  startStack,
  total,
} from "./support/wrangler.js";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "500" },
    agents: { type: "string", default: "30" },
    "slurm-jobs": { type: "string", default: "60" },
    /** Slurm-sized bursts in a row on each harness (their median is the figure). */
    "slurm-rounds": { type: "string", default: "3" },
    /** The stack's harnesses, in this order: `wrangler` (wrangler dev), `direct` (no proxy). */
    harness: { type: "string", default: "wrangler,direct" },
  },
});
const jobCount = Number(values.jobs);
const agentCount = Number(values.agents);
const slurmJobs = Number(values["slurm-jobs"]);
const slurmRounds = Number(values["slurm-rounds"]);
const HARNESSES = values.harness.split(",").map((h) => {
  if (h !== "wrangler" && h !== "direct") throw new Error(`--harness: wrangler or direct, not ${h}`);
  return h;
});
/** The anchor: Slurm 22.05 (tuned) started a burst of 60 jobs in 1.6 s on this machine. */
const SLURM_MS = 1600;

const SPEC = {
  image: "meridian/busybox:test",
  command: ["sleep", "3600"],
  resources: { cpus: 0.5, memoryGb: 0.5 },
  region: "eu-west",
};

/** Every job the run submits holds its place (`sleep 3600`): the warm-up, the Slurm rounds, the burst. */
const jobsHeld = 10 + slurmJobs * slurmRounds + jobCount;
/** What the fleet can hold at once: each simulated agent reports `hardware()`'s CPUs. */
const fleetHolds = agentCount * Math.floor(hardware().cpus / SPEC.resources.cpus);
if (jobsHeld > fleetHolds)
  throw new Error(
    `--agents ${agentCount} hold ${fleetHolds} jobs of ${SPEC.resources.cpus} CPU, the run keeps ${jobsHeld}: ` +
      `pass --agents ${Math.ceil(jobsHeld / (fleetHolds / agentCount))} or more`,
  );
/** Connections wrangler dev reset under the burst (its local proxy, not the Worker), sent again. */
let resets = 0;
/** 503 "Your worker restarted mid-request" answers, sent again: wrangler dev's proxy lost its connection to workerd. */
let proxyLosses = 0;

/**
 * A fetch sent again when the connection is reset before an answer (wrangler dev's local proxy
 * resets some of hundreds of simultaneous connections). Submits carry an Idempotency-Key, so a
 * resend can never make a second job.
 */
async function send(url: string, init: RequestInit = {}): Promise<Response> {
  for (let tries = 0; ; tries++) {
    try {
      const res = await fetch(url, init);
      // wrangler dev's proxy lost its connection to workerd (its 503 says "restarted"; see
      // workerReloads for whether it did): counted, and sent again.
      if (res.status !== 503 || tries >= 10) return res;
      proxyLosses++;
      await res.arrayBuffer();
      await new Promise((resolve) => setTimeout(resolve, 50 * (tries + 1)));
    } catch (error) {
      if (tries >= 10) throw error;
      resets++;
      await new Promise((resolve) => setTimeout(resolve, 50 * (tries + 1)));
    }
  }
}

/** `n` requests at once; the wall time until the last answered, and each one's latency. */
async function concurrent(
  n: number,
  one: (i: number) => Promise<void>,
): Promise<{ wallMs: number; each: number[] }> {
  const each: number[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const t = performance.now();
      await one(i);
      each.push(performance.now() - t);
    }),
  );
  return { wallMs: performance.now() - started, each };
}

async function burst(
  user: UserClient,
  fleet: Fleet,
  n: number,
  label: string,
): Promise<{ placedMs: number; runningMs: number; queued: number; submitMs: ReturnType<typeof summary> }> {
  const before = fleet.runningAt.size;
  const ids: string[] = [];
  let queued = 0;
  const t0 = performance.now();
  const { wallMs, each } = await concurrent(n, async (i) => {
    const res = await send(`${user.baseUrl}/v1/jobs`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${user.apiKey}`,
        "content-type": "application/json",
        "idempotency-key": `${label}-${i}-${Math.round(t0)}`,
      },
      body: JSON.stringify({ ...SPEC, name: `${label}-${i}` }),
    });
    if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
    const job = (await res.json()) as { id: string; status: string };
    ids.push(job.id);
    if (job.status === "queued") queued++;
  });
  await fleet.until(before + n, 120_000);
  const last = Math.max(...ids.map((id) => fleet.runningAt.get(id) ?? Number.NaN));
  return { placedMs: Math.round(wallMs), runningMs: Math.round(last - t0), queued, submitMs: summary(each) };
}

/**
 * The stack's own log, kept whether or not the burst completed: a workerd restart mid-burst
 * ("Your worker restarted mid-request") says there why it reloaded or exited.
 */
async function saveStackLog(harness: Harness, log: string): Promise<void> {
  const logFile = path.join(os.tmpdir(), `burst-${harness}-${Date.now()}.log`);
  await writeFile(logFile, log);
  const notable = log
    .split("\n")
    .filter((line) => /reload|restart|exited|uncaught|error|exceeded|reset/i.test(line));
  console.error(
    JSON.stringify(
      { wranglerLog: logFile, notableLines: notable.length, first: notable.slice(0, 25) },
      null,
      2,
    ),
  );
}

/** Why attempts were lost (their jobs' `lost` events), by reason with node ids and times left out. */
async function lossReasons(d1: string): Promise<Record<string, number>> {
  const text = await sqlite(
    d1,
    "SELECT status || ': ' || coalesce(reason, '') FROM job_events WHERE status IN ('lost', 'returned', 'refused');",
    true,
  );
  const out: Record<string, number> = {};
  for (const line of text.split("\n").filter(Boolean)) {
    const kind = line
      .replace(/node [^ ]+/g, "node …")
      .replace(/[0-9.]+ s\b/g, "… s")
      .replace(/[0-9]+×/g, "…×");
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

/**
 * How many times wrangler dev (re)started the Worker's runtime during the run, from its debug log
 * (every start is a `reloadStart`; the first is the start itself), and how many addresses the
 * runtime had: a restart would move it. 0 reloads means the Region object's memory was never lost.
 */
async function workerReloads(logDir: string): Promise<{ reloads: number; runtimeAddresses: number }> {
  let starts = 0;
  const addresses = new Set<string>();
  for (const name of await readdir(logDir)) {
    const text = await readFile(path.join(logDir, name), "utf8");
    starts += text.split('"type":"reloadStart"').length - 1;
    for (const match of text.matchAll(/"type":"reloadComplete","proxyData":\{"userWorkerUrl":(\{[^}]*\})/g))
      if (match[1]) addresses.add(match[1]);
  }
  return { reloads: Math.max(0, starts - 1), runtimeAddresses: addresses.size };
}

type Harness = "wrangler" | "direct";

/** The 1-minute load average (`uptime`'s first figure), as the benches report it. */
const load = (): number => Math.round((os.loadavg()[0] ?? 0) * 100) / 100;

/** One harness's run: a fresh state folder, its own stack, agents and account. */
async function runOn(harness: Harness): Promise<Record<string, unknown>> {
  resets = 0;
  proxyLosses = 0;
  // wrangler writes its debug log (reloads included) here; the launcher passes the environment on.
  const logDir = await mkdtemp(path.join(os.tmpdir(), "burst-wrangler-debug-"));
  process.env.WRANGLER_LOG_PATH = logDir;
  const state = await freshState();
  const d1 = await d1File(state);
  await installWriteCounters(d1);
  const stack = harness === "direct" ? await startDirectStack(state) : await startStack(state);
  let fleet: Fleet | undefined;
  try {
    const user = await UserClient.signup(stack.url);
    const agents = Array.from({ length: agentCount }, () => new SimAgent(stack.url));
    for (const agent of agents) await agent.register(hardware());
    fleet = new Fleet(agents);
    fleet.start();
    // Warm the Worker, the Region object and D1 (first requests compile and open files).
    await burst(user, fleet, 10, "warm");

    const worker = await concurrent(jobCount, async () => {
      const res = await send(`${stack.url}/v1/health`);
      await res.arrayBuffer();
    });
    const authed = await concurrent(jobCount, async () => {
      const res = await send(`${stack.url}/v1/jobs?limit=1`, {
        headers: { authorization: `Bearer ${user.apiKey}` },
      });
      if (res.status !== 200) throw new Error(`list answered ${res.status}`);
      await res.arrayBuffer();
    });
    const slurmRuns = [];
    for (let round = 0; round < slurmRounds; round++)
      slurmRuns.push(await burst(user, fleet, slurmJobs, `slurm${round}`));
    const slurmRunning = slurmRuns.map((r) => r.runningMs).sort((x, y) => x - y);
    const slurmMedian = slurmRunning[Math.floor(slurmRunning.length / 2)] ?? Number.NaN;
    const writesBefore = await readWriteCounts(d1);
    const big = await burst(user, fleet, jobCount, "burst");
    const writes = diffCounts(await readWriteCounts(d1), writesBefore);
    const attempts = Number(await sqlite(d1, "SELECT count(*) FROM job_attempts;", true));

    return {
      harness,
      date: new Date().toISOString(),
      jobs: jobCount,
      agents: agentCount,
      burst: {
        ...big,
        placedPerSecond: Math.round((jobCount / big.placedMs) * 1000),
        runningPerSecond: Math.round((jobCount / big.runningMs) * 1000),
      },
      slurmSized: {
        rounds: slurmRuns,
        runningMsEachRound: slurmRuns.map((r) => r.runningMs),
        medianRunningMs: slurmMedian,
        anchor: `Slurm 22.05 (tuned), same machine: 60 jobs started in ${SLURM_MS / 1000} s`,
        ratioToSlurm: Math.round((slurmMedian / SLURM_MS) * 100) / 100,
      },
      attemptsPerJob: Math.round((attempts / jobsHeld) * 100) / 100,
      attemptOutcomes: await sqlite(
        d1,
        "SELECT coalesce(outcome, 'open'), count(*) FROM job_attempts GROUP BY 1;",
        true,
      ),
      attemptLosses: await lossReasons(d1),
      agentRequestsRetried: fleet.errors.length,
      agentErrors: fleet.errorKinds(),
      connectionResetsResent: resets,
      proxyLossesResent: { submits: proxyLosses, agents: agents.reduce((n, a) => n + a.proxyLosses, 0) },
      // Only wrangler dev reloads its runtime; the direct stack is one workerd for the whole run.
      workerReloads: harness === "wrangler" ? await workerReloads(logDir) : null,
      whereTheTimeGoes: {
        workerOnlyMs: Math.round(worker.wallMs),
        workerPlusAuthMs: Math.round(authed.wallMs),
        fullSubmitMs: big.placedMs,
        d1RowsWrittenPerJob: Math.round((total(writes) / jobCount) * 10) / 10,
        d1Writes: writes,
      },
    };
  } finally {
    await fleet?.close();
    await saveStackLog(harness, stack.output());
    await stack.dispose();
    await rm(logDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const loadBefore = load();
  const runs: Record<string, unknown>[] = [];
  for (const harness of HARNESSES) {
    const run = await runOn(harness);
    runs.push(run);
    console.log(JSON.stringify(run, null, 2));
  }
  const loadAfter = load();
  const figure = (harness: Harness, pick: (run: Record<string, unknown>) => number) => {
    const run = runs.find((r) => r.harness === harness);
    return run === undefined ? undefined : pick(run);
  };
  const slurmOf = (run: Record<string, unknown>) =>
    (run.slurmSized as { medianRunningMs: number }).medianRunningMs;
  const burstOf = (run: Record<string, unknown>) => (run.burst as { runningMs: number }).runningMs;
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined ? null : Math.round((a / b) * 100) / 100;
  console.log(
    JSON.stringify(
      {
        summary: {
          loadBefore,
          loadAfter,
          slurmMs: SLURM_MS,
          slurmSizedMedianRunningMs: Object.fromEntries(runs.map((r) => [r.harness, slurmOf(r)])),
          ratioToSlurm: Object.fromEntries(runs.map((r) => [r.harness, ratio(slurmOf(r), SLURM_MS)])),
          burstRunningMs: Object.fromEntries(runs.map((r) => [r.harness, burstOf(r)])),
          directOverWrangler: {
            slurmSized: ratio(figure("direct", slurmOf), figure("wrangler", slurmOf)),
            burst: ratio(figure("direct", burstOf), figure("wrangler", burstOf)),
          },
        },
      },
      null,
      2,
    ),
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
