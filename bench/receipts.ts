/**
 * `npm run bench:receipts`: what receipts cost on chain and to check. N settled attempts (default
 * 10,000) are seeded into the local D1 while wrangler dev is stopped; then `POST
 * /v1/operator/receipts/run` makes the receipts object sign a receipt for each, cut them into
 * Merkle batches (RECEIPT_BATCH_MAX_LEAVES, default 4,096) and anchor each root in a memo
 * transaction on the local chain (cluster-like 400 ms slots). Reported: transactions, their bytes
 * and fees against the baseline of one memo transaction per receipt (what anchoring each receipt
 * alone would cost), proof sizes, and the time to fetch and to verify a sample of receipts offline
 * and against the chain.
 */
import { address } from "@solana/kit";
import { sha256Hex } from "../src/shared/agent-signature.js";
import { encodeBase58 } from "../src/shared/base58.js";
import { newId } from "../src/shared/ids.js";
import { checkAnchorOnChain } from "../src/shared/receipts/anchor-check.js";
import { checkReceiptOffline, type ReceiptView } from "../src/shared/receipts/receipt-view.js";
import { BENCH_OPERATOR_TOKEN, type ChainBench, chainBench, p50p99 as ms } from "./support/chain-bench.js";
import { sqlite } from "./support/wrangler.js";

const RECEIPTS = Number(process.env.BENCH_RECEIPTS ?? 10_000);
const MAX_LEAVES = process.env.BENCH_MAX_LEAVES ?? "4096";
const SAMPLE = Number(process.env.BENCH_SAMPLE ?? 200);
/** Solana's base fee per signature; every anchor and every baseline memo has one signature. */
const LAMPORTS_PER_SIGNATURE = 5_000;

/** N settled CPU attempts of one account on one node, as the outbox would have written them. */
async function seed(bench: ChainBench, count: number): Promise<{ accountId: string; attempts: string[] }> {
  const accountId = newId("acct");
  const nodeId = newId("node");
  const jobId = newId("job");
  const now = Date.now();
  const attempts: string[] = [];
  const lines = [`INSERT INTO accounts (id, created_at) VALUES ('${accountId}', ${now});`];
  for (let j = 0; j < count; j++) {
    const attemptId = newId("att", now - count + j);
    attempts.push(attemptId);
    const seconds = 30 + (j % 600);
    const charged = Math.ceil((seconds * 10_754) / 3600);
    const fee = Math.floor(charged / 10);
    const burn = Math.floor(fee / 5);
    lines.push(
      `INSERT INTO ledger_settlements (attempt_id, job_id, account_id, node_id, gpu_model, gpus, price_per_gpu_hour_micros, billing_mode, outcome, started_at, ended_at, billable_seconds, metered_micros, charged_micros, shortfall_micros, fee_micros, burn_micros, provider_micros, created_at, cpu_hour_micros) VALUES ('${attemptId}', '${jobId}', '${accountId}', '${nodeId}', NULL, 0, 0, 'per_second', 'succeeded', ${now - seconds * 1000}, ${now}, ${seconds}, ${charged}, ${charged}, 0, ${fee}, ${burn}, ${charged - fee}, ${now - count + j}, 10754);`,
    );
  }
  await bench.seed(lines);
  return { accountId, attempts };
}

async function main(): Promise<void> {
  const bench = await chainBench("receipts");
  const { addresses: a, rpc, file, chain } = bench;
  try {
    const { accountId, attempts } = await seed(bench, RECEIPTS);
    // The account's API key, seeded the same way: GET /v1/receipts/:id is asked as the account charged.
    const apiKey = await seedKey(file, accountId);
    const stack = await bench.start({ RECEIPT_BATCH_MAX_LEAVES: MAX_LEAVES });
    const before = (await rpc.getBalance(address(a.treasury), { commitment: "confirmed" }).send()).value;
    const started = performance.now();
    let runs = 0;
    for (;;) {
      runs += 1;
      const res = await fetch(`${stack.url}/v1/operator/receipts/run`, {
        method: "POST",
        headers: { authorization: `Bearer ${BENCH_OPERATOR_TOKEN}` },
      });
      if (res.status !== 200) throw new Error(`receipts run answered ${res.status}: ${await res.text()}`);
      const ran = (await res.json()) as { minted: number; batches: number; pending: number };
      if (ran.minted === 0 && ran.batches === 0 && ran.pending === 0) break;
    }
    const seconds = (performance.now() - started) / 1000;
    const after = (await rpc.getBalance(address(a.treasury), { commitment: "confirmed" }).send()).value;
    const [transactions = 0, wireB64 = 0, signings = 0] = (
      await sqlite(
        file,
        "SELECT count(*), coalesce(sum(length(wire)), 0), coalesce(sum(signings), 0) FROM receipt_batches WHERE status = 'anchored';",
        true,
      )
    )
      .trim()
      .split("|")
      .map(Number);
    const minted = Number((await sqlite(file, "SELECT count(*) FROM receipts;", true)).trim());
    const txBytes = Math.round((wireB64 * 3) / 4);

    // A sample of receipts: fetched over the API, checked offline, and checked against the chain.
    const fetchMs: number[] = [];
    const offlineMs: number[] = [];
    const chainMs: number[] = [];
    const proofSteps: number[] = [];
    const proofBytes: number[] = [];
    for (let i = 0; i < SAMPLE; i++) {
      const id = attempts[Math.floor((i * attempts.length) / SAMPLE)] ?? "";
      let t = performance.now();
      const res = await fetch(`${stack.url}/v1/receipts/${id}`, {
        headers: { authorization: `Bearer ${apiKey}` },
      });
      if (res.status !== 200) throw new Error(`GET receipt answered ${res.status}: ${await res.text()}`);
      const view = (await res.json()) as ReceiptView;
      fetchMs.push(performance.now() - t);
      t = performance.now();
      const checks = await checkReceiptOffline(view, a.treasury);
      offlineMs.push(performance.now() - t);
      t = performance.now();
      const onChain = await checkAnchorOnChain(view, chain.url);
      chainMs.push(performance.now() - t);
      if (!checks.every((check) => check.ok) || !onChain.ok) throw new Error(`receipt ${id} did not verify`);
      proofSteps.push(view.proof?.steps.length ?? 0);
      proofBytes.push(JSON.stringify(view.proof?.steps ?? []).length);
    }
    const fees = signings * LAMPORTS_PER_SIGNATURE;
    const report = {
      receipts: RECEIPTS,
      minted,
      maxLeavesPerBatch: Number(MAX_LEAVES),
      operatorRuns: runs,
      secondsToSignBatchAndAnchor: Number(seconds.toFixed(1)),
      anchorTransactions: transactions,
      anchorBytes: txBytes,
      anchorFeeLamports: fees,
      treasuryLamportsSpent: Number(before - after),
      per10kReceipts: {
        transactions: Number(((transactions * 10_000) / RECEIPTS).toFixed(2)),
        bytes: Math.round((txBytes * 10_000) / RECEIPTS),
        lamports: Math.round((fees * 10_000) / RECEIPTS),
      },
      baselineOneMemoPerReceipt: {
        transactions: 10_000,
        lamports: 10_000 * LAMPORTS_PER_SIGNATURE,
        bytesAtThisMemoSize: Math.round((txBytes / Math.max(1, transactions)) * 10_000),
      },
      lamportRatioVsBaseline: Number((fees / (RECEIPTS * LAMPORTS_PER_SIGNATURE)).toFixed(5)),
      proofSteps: { min: Math.min(...proofSteps), max: Math.max(...proofSteps) },
      proofBytes: { rawMax: Math.max(...proofSteps) * 32, jsonMax: Math.max(...proofBytes) },
      sample: SAMPLE,
      fetchMs: ms(fetchMs),
      verifyOfflineMs: ms(offlineMs),
      verifyAgainstChainMs: ms(chainMs),
    };
    console.log(JSON.stringify(report, null, 2));
    if (minted !== RECEIPTS) throw new Error(`${minted} receipts for ${RECEIPTS} settlements`);
  } finally {
    await bench.dispose();
  }
}

/**
 * An API key row for the account, in src/worker/api-keys.ts's format (`mrd_<id>_<secret>`, only the
 * secret's SHA-256 stored); that module uses workerd's crypto, so the bench writes the row itself.
 */
async function seedKey(file: string, accountId: string): Promise<string> {
  const keyId = newId("key");
  const secret = encodeBase58(crypto.getRandomValues(new Uint8Array(32)));
  await sqlite(
    file,
    `INSERT INTO api_keys (id, account_id, secret_hash, scopes, created_at) VALUES ('${keyId}', '${accountId}', '${await sha256Hex(secret)}', '["full"]', ${Date.now()});`,
  );
  return `mrd_${keyId.slice("key_".length)}_${secret}`;
}

await main();
