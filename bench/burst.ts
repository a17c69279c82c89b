/**
 * bench:burst — a burst of jobs submitted at once through the HTTP API of the local stack
 * (`wrangler dev`: the Worker, the Region Durable Object, local D1), placed on simulated signed
 * agents (the real agent protocol, no Docker): time until every job is placed (its submit answered
 * with a placement) and until every one is running (its agent's `started` report accepted).
 *
 * Where the time goes, from the same run: the same number of concurrent requests that stop at
 * the Worker (GET /v1/health), and that also authenticate (GET /v1/jobs?limit=1: the API-key
 * lookup in D1 and the rate limiter's Durable Object); the rest of a submit is the Region object
 * (admission, the scheduler) and the D1 writes it makes, counted here per job by SQLite triggers.
 *
 *   npm run bench:burst -- [--jobs 500] [--agents 20] [--slurm-jobs 60]
 */
import { mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { UserClient } from "../test/support/user-client.js";
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
    agents: { type: "string", default: "20" },
    "slurm-jobs": { type: "string", default: "60" },
  },
});
const jobCount = Number(values.jobs);
const agentCount = Number(values.agents);
const slurmJobs = Number(values["slurm-jobs"]);

const SPEC = {
  image: "meridian/busybox:test",
  command: ["sleep", "3600"],
  resources: { cpus: 0.5, memoryGb: 0.5 },
  region: "eu-west",
};

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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
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

/**
 * Simulated agents: each holds a poll; an assignment is answered with a `started` report at once,
 * as an agent whose image is present does, and the time it was accepted is kept per job.
 */
class Fleet {
  readonly runningAt = new Map<string, number>();
  /** Agent requests that failed and were sent again (resets under load). */
  readonly errors: string[] = [];
  private readonly stop = new AbortController();
  private loops: Promise<void>[] = [];

  constructor(private readonly agents: SimAgent[]) {}

  start(): void {
    this.loops = this.agents.map((agent) => this.serve(agent));
  }

  /**
   * As the real agent's work loop does (src/agent/work-loop.ts `serve`, node-attempts.ts `accept`): an assignment is
   * taken (listed as running in the next poll) and its attempt reports `started` on its own, while
   * the loop polls again at once (after the answer's `nextPollDelayMs`); a poll never waits for
   * the reports of the attempts it handed over.
   */
  private async serve(agent: SimAgent): Promise<void> {
    const running: { attemptId: string; fencing: number }[] = [];
    const reports: Promise<void>[] = [];
    while (!this.stop.signal.aborted) {
      let answer: Awaited<ReturnType<SimAgent["poll"]>>;
      try {
        answer = await agent.poll(running, 20_000, this.stop.signal);
      } catch (error) {
        if (this.stop.signal.aborted) break;
        // A reset under the burst's load: poll again, as an agent does, and count it.
        this.errors.push(String(error));
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      for (const a of answer.assignments) {
        if (running.some((r) => r.attemptId === a.attemptId)) continue;
        running.push({ attemptId: a.attemptId, fencing: a.fencing });
        reports.push(this.reportStarted(agent, a));
      }
      if (answer.nextPollDelayMs > 0) await sleep(answer.nextPollDelayMs, this.stop.signal);
    }
    await Promise.allSettled(reports);
  }

  /** The attempt's `started` report (the real agent's report retries are in SimAgent.send). */
  private async reportStarted(agent: SimAgent, a: { attemptId: string; fencing: number; jobId: string }) {
    for (let tries = 0; tries < 5 && !this.stop.signal.aborted; tries++) {
      try {
        const started = { type: "started", fencing: a.fencing, at: Date.now(), containerId: "sim" };
        await agent.report(a.attemptId, started);
        this.runningAt.set(a.jobId, performance.now());
        return;
      } catch (error) {
        this.errors.push(String(error));
      }
    }
  }

  /** The agent errors that were retried, by kind (their first words, ids left out). */
  errorKinds(): Record<string, number> {
    const kinds: Record<string, number> = {};
    for (const error of this.errors) {
      const kind = error.replace(/[0-9a-f]{8,}|[A-Za-z0-9_-]{20,}/g, "…").slice(0, 100);
      kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
    return kinds;
  }

  async until(n: number, ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (this.runningAt.size < n) {
      if (Date.now() > deadline) {
        // Say why, not only how many: the last agent errors, by kind.
        const kinds = new Map<string, number>();
        for (const error of this.errors) {
          const kind = error.slice(0, 120);
          kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
        }
        throw new Error(
          `only ${this.runningAt.size} of ${n} jobs running after ${ms} ms; agent errors: ${JSON.stringify([...kinds])}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.stop.abort();
    await Promise.allSettled(this.loops);
  }
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
 * wrangler dev's own log, kept whether or not the burst completed: a workerd restart mid-burst
 * ("Your worker restarted mid-request") says there why it reloaded or exited.
 */
async function saveWranglerLog(log: string): Promise<void> {
  const logFile = path.join(os.tmpdir(), `burst-wrangler-${Date.now()}.log`);
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

async function main(): Promise<void> {
  // wrangler writes its debug log (reloads included) here; the launcher passes the environment on.
  const logDir = await mkdtemp(path.join(os.tmpdir(), "burst-wrangler-debug-"));
  process.env.WRANGLER_LOG_PATH = logDir;
  const state = await freshState();
  const d1 = await d1File(state);
  await installWriteCounters(d1);
  const stack = await startStack(state);
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
    const slurmSized = await burst(user, fleet, slurmJobs, "slurm");
    const writesBefore = await readWriteCounts(d1);
    const big = await burst(user, fleet, jobCount, "burst");
    const writes = diffCounts(await readWriteCounts(d1), writesBefore);
    const attempts = Number(await sqlite(d1, "SELECT count(*) FROM job_attempts;", true));

    const out = {
      date: new Date().toISOString(),
      jobs: jobCount,
      agents: agentCount,
      burst: {
        ...big,
        placedPerSecond: Math.round((jobCount / big.placedMs) * 1000),
        runningPerSecond: Math.round((jobCount / big.runningMs) * 1000),
      },
      slurmSized: {
        ...slurmSized,
        anchor: "Slurm 22.05 (tuned), same machine: 60 jobs started in 1.6 s",
        ratioToSlurm: Math.round((slurmSized.runningMs / 1600) * 100) / 100,
      },
      attemptsPerJob: Math.round((attempts / (jobCount + slurmJobs + 10)) * 100) / 100,
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
      workerReloads: await workerReloads(logDir),
      whereTheTimeGoes: {
        workerOnlyMs: Math.round(worker.wallMs),
        workerPlusAuthMs: Math.round(authed.wallMs),
        fullSubmitMs: big.placedMs,
        d1RowsWrittenPerJob: Math.round((total(writes) / jobCount) * 10) / 10,
        d1Writes: writes,
      },
    };
    console.log(JSON.stringify(out, null, 2));
  } finally {
    await fleet?.close();
    await saveWranglerLog(stack.output());
    await stack.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
