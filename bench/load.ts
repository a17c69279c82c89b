/**
 * bench:load — sustained request rates against the local stack (wrangler dev: workerd, local D1
 * and Durable Objects), with autocannon 9: user reads (GET /v1/jobs, GET /v1/nodes), submits
 * (POST /v1/jobs) and agent polls (POST /v1/agent/poll, signed afresh for every request by one of
 * 40 registered nodes, none with two polls in flight, `waitMs: 0` with nothing to place: the poll
 * of an idle fleet, on a stack of its own so the nodes take none of the submitted jobs). Each route is driven at 1, 2, 4, … connections for a few seconds a step; the
 * figure reported is the highest rate whose p99 stayed under 100 ms with zero errors and zero
 * non-2xx answers. Beside each step: the CPU the workerd process used (a share of one core) and
 * the machine's load average, since the machine is shared and workerd runs a Worker on one thread.
 *
 * Each route is driven through two harnesses in the same run: `wrangler dev` (what the tests use:
 * its proxy Worker in a workerd of its own in front of the user Worker) and
 * bench/support/direct-stack.ts (the deploy bundle and wrangler.toml's bindings on workerd through
 * Miniflare, nothing in front: nearer what a deployment serves, which has no such proxy).
 *
 *   npm run bench:load                 # 5 s a step, both harnesses
 *   LOAD_STEP_SECONDS=10 npm run bench:load
 *   LOAD_HARNESS=direct npm run bench:load   # one harness: wrangler or direct
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import autocannon from "autocannon";
import { startDirectStack } from "./support/direct-stack.js";
import { PollSigner } from "./support/poll-signer.js";
import { freshState, type LocalStack, startStack } from "./support/wrangler.js";

const STEP_SECONDS = Number(process.env.LOAD_STEP_SECONDS ?? "5");
const CONNECTIONS = [1, 2, 4, 8, 16, 32];
const P99_LIMIT_MS = 100;

interface Step {
  connections: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  workerdCpu: number;
  load1: number;
}

/** Total CPU seconds (user + system) of every workerd process this stack runs. */
function workerdCpuSeconds(pids: readonly number[]): number {
  const tick = 100;
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
      total += (Number(fields[11]) + Number(fields[12])) / tick;
    } catch {
      // gone
    }
  }
  return total;
}

/** The processes listening on the stack's port (workerd serves it, behind wrangler's own process). */
function listenerPids(port: number): number[] {
  const out = execFileSync("ss", ["-ltnpH", `sport = :${port}`], { encoding: "utf8" });
  return [...new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
}

async function step(init: autocannon.Options, connections: number, pids: number[]): Promise<Step> {
  const cpuBefore = workerdCpuSeconds(pids);
  const result = await autocannon({ ...init, connections, duration: STEP_SECONDS, pipelining: 1 });
  const cpu = (workerdCpuSeconds(pids) - cpuBefore) / STEP_SECONDS;
  return {
    connections,
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    workerdCpu: Math.round(cpu * 100) / 100,
    load1: Math.round((loadavg()[0] ?? 0) * 10) / 10,
  };
}

/** Every node's poll as autocannon sends it: each connection signs with a node that has none in flight. */
async function pollRoute(stack: LocalStack): Promise<autocannon.Options> {
  const signers: PollSigner[] = [];
  for (let i = 0; i < Math.max(...CONNECTIONS) + 8; i++) {
    const signer = new PollSigner(stack.url);
    await signer.register();
    signers.push(signer);
  }
  const idle = [...signers];
  const path = "/v1/agent/poll";
  const body = JSON.stringify({ running: [], acceptingWork: true, waitMs: 0 });
  return {
    url: stack.url + path,
    method: "POST",
    requests: [
      {
        method: "POST",
        setupRequest: (request, context) => {
          const signer = idle.pop();
          if (signer === undefined) throw new Error("every node has a poll in flight");
          context.signer = signer;
          return { ...request, path, method: "POST", body, headers: signer.headers(path, body) };
        },
        onResponse: (_status, _body, context) => {
          if (context.signer instanceof PollSigner) idle.push(context.signer);
        },
      },
    ],
  };
}

/** Drives each route at 1, 2, 4, … connections and prints each step; the summary of each route. */
async function drive(
  routes: [string, autocannon.Options][],
  pids: number[],
  summary: Record<string, unknown>,
): Promise<void> {
  for (const [name, init] of routes) {
    const steps: Step[] = [];
    for (const connections of CONNECTIONS) {
      const result = await step(init, connections, pids);
      steps.push(result);
      console.log(
        `${name.padEnd(19)} c=${String(connections).padStart(2)}  ${String(result.requestsPerSecond).padStart(5)} req/s  ` +
          `p50 ${result.p50} ms  p99 ${result.p99} ms  errors ${result.errors}  non-2xx ${result.non2xx}  ` +
          `workerd ${result.workerdCpu} core  load ${result.load1}`,
      );
      if (result.p99 >= P99_LIMIT_MS * 3 || result.errors > 0) break;
    }
    const held = steps.filter((s) => s.p99 < P99_LIMIT_MS && s.errors === 0 && s.non2xx === 0);
    const best = held.reduce<Step | undefined>(
      (a, s) => (a === undefined || s.requestsPerSecond > a.requestsPerSecond ? s : a),
      undefined,
    );
    const peak = steps.reduce((a, s) => Math.max(a, s.workerdCpu), 0);
    summary[name] = {
      sustainedRequestsPerSecond: best?.requestsPerSecond ?? 0,
      atConnections: best?.connections ?? null,
      p99AtThatRate: best?.p99 ?? null,
      workerdCoreAtPeak: peak,
    };
  }
}

function servingPids(stack: LocalStack): number[] {
  const pids = listenerPids(Number(new URL(stack.url).port));
  const names = pids.map((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim());
  console.log(`serving the port: ${names.join(", ")} (pids ${pids.join(", ")})`);
  return pids;
}

type Harness = "wrangler" | "direct";
const STARTERS: Record<Harness, (state: string) => Promise<LocalStack>> = {
  wrangler: (state) => startStack(state),
  direct: (state) => startDirectStack(state),
};

function harnesses(): Harness[] {
  const chosen = process.env.LOAD_HARNESS ?? "both";
  if (chosen === "both") return ["wrangler", "direct"];
  if (chosen === "wrangler" || chosen === "direct") return [chosen];
  throw new Error(`LOAD_HARNESS must be wrangler, direct or both, got "${chosen}"`);
}

/** The user routes on one stack, then the agent polls on a fresh one (so no node takes a job). */
async function measure(harness: Harness, summary: Record<string, unknown>): Promise<void> {
  const start = STARTERS[harness];
  console.log(`--- harness ${harness}`);
  const stack = await start(await freshState());
  try {
    const signup = await fetch(`${stack.url}/v1/accounts`, { method: "POST" });
    const { apiKey } = (await signup.json()) as { apiKey: string };
    const auth = { authorization: `Bearer ${apiKey}` };
    const spec = JSON.stringify({
      name: "load",
      image: "meridian/busybox:test",
      command: ["true"],
      resources: { cpus: 0.1, memoryGb: 0.0625 },
    });
    // A page of jobs to list (no node takes them: they stay queued).
    for (let i = 0; i < 50; i++) {
      await fetch(`${stack.url}/v1/jobs`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: spec,
      });
    }
    const pids = servingPids(stack);
    const routes: [string, autocannon.Options][] = [
      ["GET /v1/jobs", { url: `${stack.url}/v1/jobs`, headers: auth }],
      ["GET /v1/nodes", { url: `${stack.url}/v1/nodes`, headers: auth }],
      [
        "POST /v1/jobs",
        {
          url: `${stack.url}/v1/jobs`,
          method: "POST",
          headers: { ...auth, "content-type": "application/json" },
          body: spec,
        },
      ],
    ];
    await drive(routes, pids, summary);
  } finally {
    await stack.dispose();
  }
  const fleet = await start(await freshState());
  try {
    const route = await pollRoute(fleet);
    await drive([["POST /v1/agent/poll", route]], servingPids(fleet), summary);
  } finally {
    await fleet.dispose();
  }
}

async function main(): Promise<void> {
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(" ");
  console.log(`bench:load: ${STEP_SECONDS} s a step; load average at start ${load()}`);
  const summary: Record<string, Record<string, unknown>> = {};
  for (const harness of harnesses()) {
    summary[harness] = {};
    await measure(harness, summary[harness]);
  }
  console.log(`load average at end ${load()}`);
  console.log(JSON.stringify({ bench: "load", stepSeconds: STEP_SECONDS, summary }, null, 2));
}

await main();
