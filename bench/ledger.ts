/**
 * bench:ledger — transfers/s through the Worker against local D1, and the latency of one transfer
 * (an operator credit: idempotency-key read, one atomic batch, read-back) and of its idempotent
 * replay, over the local stack (`wrangler dev`, local D1). Then the job charge path through the
 * real job flow: submit a GPU job, a simulated signed agent (no Docker) takes it from its held poll,
 * reports started and exited, until `GET /v1/jobs/:id` shows the charge; with the D1 rows each job
 * lifecycle writes, counted by SQLite triggers installed in the local D1 file before wrangler starts.
 *
 *   npm run bench:ledger -- [--transfers 2000] [--concurrency 16] [--latency-samples 300] [--jobs 60]
 */
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import type { Assignment } from "../src/shared/agent-protocol.js";
import { hardware, SimAgent, summary as stats } from "./support/sim-agent.js";
import {
  d1File,
  diffCounts,
  freshState,
  installWriteCounters,
  readWriteCounts,
  startStack,
  total,
} from "./support/wrangler.js";

const { values } = parseArgs({
  options: {
    transfers: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "16" },
    "latency-samples": { type: "string", default: "300" },
    jobs: { type: "string", default: "60" },
  },
});
const transfers = Number(values.transfers);
const concurrency = Number(values.concurrency);
const samples = Number(values["latency-samples"]);
const jobCount = Number(values.jobs);

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, n ${ms.length}`;
}

// wrangler dev takes the operator secret from the environment for this run only; the simulated
// agent claims a GPU it cannot prove, so verification is off for this run (as in the worker tests).
const token = randomBytes(24).toString("hex");
const state = await freshState();
const db = await d1File(state);
await installWriteCounters(db);
const plane = await startStack(state, { OPERATOR_TOKEN: token, REQUIRE_VERIFIED_GPUS: "false" });
try {
  const signups = await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const res = await fetch(`${plane.url}/v1/accounts`, { method: "POST" });
      if (res.status !== 201) throw new Error(`sign-up answered ${res.status}`);
      return ((await res.json()) as { id: string }).id;
    }),
  );
  const credit = async (accountId: string, key: string): Promise<number> => {
    const started = performance.now();
    const res = await fetch(`${plane.url}/v1/credits`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${token}`,
        "idempotency-key": key,
      },
      body: JSON.stringify({ accountId, amount: "0.000001" }),
    });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`credit answered ${res.status}:\n${plane.output().slice(-2000)}`);
    return performance.now() - started;
  };
  const first = signups[0] ?? "";
  for (let i = 0; i < 50; i++) await credit(first, `warm-${i}`);

  const latency: number[] = [];
  for (let i = 0; i < samples; i++) latency.push(await credit(first, `seq-${i}`));
  const replay: number[] = [];
  for (let i = 0; i < samples; i++) replay.push(await credit(first, `seq-${i}`));

  let next = 0;
  const started = performance.now();
  await Promise.all(
    signups.map(async (accountId) => {
      for (let i = next++; i < transfers; i = next++) await credit(accountId, `par-${i}`);
    }),
  );
  const seconds = (performance.now() - started) / 1000;

  const charge = await chargePath(credit);

  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, node ${process.version}`);
  console.log(`transfer (POST /v1/credits), sequential: ${summary(latency)}`);
  console.log(`replay (same Idempotency-Key), sequential: ${summary(replay)}`);
  console.log(
    `throughput: ${transfers} transfers, ${concurrency} concurrent clients: ${(transfers / seconds).toFixed(0)} transfers/s`,
  );
  console.log(
    `charge path (exited report → settlement visible on GET /v1/jobs/:id): ${JSON.stringify(charge.chargeMs)}`,
  );
  console.log(`submit → charged: ${JSON.stringify(charge.lifecycleMs)}`);
  console.log(`D1 rows written per job lifecycle: ${JSON.stringify(charge.perJob)}`);
  console.log(
    JSON.stringify({
      bench: "ledger",
      date: new Date().toISOString(),
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? "unknown", node: process.version },
      transferMs: stats(latency),
      replayMs: stats(replay),
      transfersPerSecond: Math.round(transfers / seconds),
      ...charge,
    }),
  );
} finally {
  await plane.dispose();
}

/** Job charge path: sign up, credit, submit a GPU job, an agent runs it, until the charge shows. */
async function chargePath(credit: (accountId: string, key: string) => Promise<number>): Promise<{
  jobs: number;
  chargeMs: ReturnType<typeof stats>;
  lifecycleMs: ReturnType<typeof stats>;
  perJob: Record<string, number>;
  transitionsPerJob: number;
  d1RowsPerTransition: number;
}> {
  const provider = await signUp();
  const agent = new SimAgent(plane.url);
  await agent.register(
    hardware([{ index: 0, uuid: "GPU-bench-0", name: "NVIDIA H100 80GB HBM3", vramMib: 81559 }]),
    provider.apiKey,
  );
  const spec = {
    name: "charged",
    image: "meridian/busybox:test",
    command: ["true"],
    region: "eu-west",
    resources: { gpus: 1 },
    maxPricePerGpuHour: "2.00",
    timeoutSeconds: 60,
  };
  const get = async (
    apiKey: string,
    id: string,
  ): Promise<{ status: string; cost: { chargedMicros: number } }> => {
    const res = await fetch(`${plane.url}/v1/jobs/${id}`, { headers: { authorization: `Bearer ${apiKey}` } });
    return (await res.json()) as { status: string; cost: { chargedMicros: number } };
  };
  const customer = async (n: number): Promise<{ id: string; apiKey: string }> => {
    const user = await signUp();
    await credit(user.id, `job-credit-${n}`);
    return user;
  };
  const runOne = async (
    n: number,
    user: { id: string; apiKey: string },
  ): Promise<{ charge: number; lifecycle: number }> => {
    // The agent's held poll is waiting before the submit, as a live agent's is.
    const polled = agent.poll([]);
    const t0 = performance.now();
    const res = await fetch(`${plane.url}/v1/jobs`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${user.apiKey}`,
        "idempotency-key": `job-${n}`,
      },
      body: JSON.stringify({ ...spec, name: `charged-${n}` }),
    });
    if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
    const { id } = (await res.json()) as { id: string };
    let assignment: Assignment | undefined = (await polled).assignments[0];
    for (let i = 0; !assignment && i < 20; i++) assignment = (await agent.poll([], 0)).assignments[0];
    if (!assignment) throw new Error(`job ${id} was never assigned`);
    const { attemptId, fencing } = assignment;
    await agent.report(attemptId, { type: "started", fencing, at: Date.now(), containerId: `c-${n}` });
    // A billable second: the meter rounds elapsed time up, and 0 ms would charge nothing.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const t1 = performance.now();
    await agent.report(attemptId, {
      type: "exited",
      fencing,
      at: Date.now(),
      exitCode: 0,
      reason: "completed",
    });
    for (let i = 0; i < 500; i++) {
      const job = await get(user.apiKey, id);
      if (job.cost.chargedMicros > 0) {
        const t2 = performance.now();
        return { charge: t2 - t1, lifecycle: t2 - t0 };
      }
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    throw new Error(`job ${id} was never charged`);
  };
  for (let i = 0; i < 5; i++) await runOne(-1 - i, await customer(-1 - i));
  // Sign-ups and credits happen before the counted window: the counts are the jobs' own.
  const users = [];
  for (let i = 0; i < jobCount; i++) users.push(await customer(i));
  const before = await readWriteCounts(db);
  const charge: number[] = [];
  const lifecycle: number[] = [];
  for (const [i, user] of users.entries()) {
    const r = await runOne(i, user);
    charge.push(r.charge);
    lifecycle.push(r.lifecycle);
  }
  const after = await readWriteCounts(db);
  const perJob: Record<string, number> = {};
  for (const [key, n] of Object.entries(diffCounts(after, before)))
    perJob[key] = Number((n / jobCount).toFixed(2));
  const transitions = perJob["job_events insert"] ?? 0;
  const jobRows = total(perJob, (k) => k.startsWith("job") && !k.startsWith("job_logs"));
  return {
    jobs: jobCount,
    chargeMs: stats(charge),
    lifecycleMs: stats(lifecycle),
    perJob,
    transitionsPerJob: transitions,
    d1RowsPerTransition: Number((jobRows / Math.max(1, transitions)).toFixed(2)),
  };
}

async function signUp(): Promise<{ id: string; apiKey: string }> {
  const res = await fetch(`${plane.url}/v1/accounts`, { method: "POST" });
  if (res.status !== 201) throw new Error(`sign-up answered ${res.status}`);
  return (await res.json()) as { id: string; apiKey: string };
}
