/**
 * bench:ledger — transfers/s through the Worker against local D1, and the latency of one transfer
 * (an operator credit: idempotency-key read, one atomic batch, read-back) and of its idempotent
 * replay, over the local stack (`wrangler dev`, local D1).
 *
 *   npm run bench:ledger -- [--transfers 2000] [--concurrency 16] [--latency-samples 300]
 */
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { startControlPlane } from "../test/support/control-plane.js";

const { values } = parseArgs({
  options: {
    transfers: { type: "string", default: "2000" },
    concurrency: { type: "string", default: "16" },
    "latency-samples": { type: "string", default: "300" },
  },
});
const transfers = Number(values.transfers);
const concurrency = Number(values.concurrency);
const samples = Number(values["latency-samples"]);

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

function summary(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, n ${ms.length}`;
}

// wrangler dev takes the operator secret from the environment for this run only (no .dev.vars).
const token = randomBytes(24).toString("hex");
process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV = "true";
process.env.OPERATOR_TOKEN = token;
const plane = await startControlPlane();
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

  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, node ${process.version}`);
  console.log(`transfer (POST /v1/credits), sequential: ${summary(latency)}`);
  console.log(`replay (same Idempotency-Key), sequential: ${summary(replay)}`);
  console.log(
    `throughput: ${transfers} transfers, ${concurrency} concurrent clients: ${(transfers / seconds).toFixed(0)} transfers/s`,
  );
} finally {
  await plane.stop();
}
