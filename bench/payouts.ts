/**
 * `npm run bench:payouts`: a settlement run of N provider payouts (default 1,000) on the local
 * chain with cluster-like 400 ms slots: wall time, transactions, payouts per transaction, bytes,
 * and what it cost the treasury (signature fees apart from the rent of the wallets' new token
 * accounts). The payout code is the Worker's own (src/chain/payouts), driven from Node against a
 * real D1 (wrangler's getPlatformProxy, local SQLite) with the project's migrations.
 */
import { address, generateKeyPairSigner } from "@solana/kit";
import { newId } from "../src/shared/ids.js";
import { BENCH_OPERATOR_TOKEN, type ChainBench, chainBench } from "./support/chain-bench.js";
import { sqlite } from "./support/wrangler.js";

const PAYOUTS = Number(process.env.BENCH_PAYOUTS ?? 1000);

/**
 * N nodes, each owned by its own account with a proven payout wallet and $10–$60 of settled
 * earnings, written straight into the local D1 file while wrangler dev is stopped (the ledger's
 * balances are what settlements leave behind; how they get there is measured elsewhere).
 */
async function seed(bench: ChainBench, count: number): Promise<number> {
  let total = 0;
  const now = Date.now();
  const lines: string[] = [];
  for (let j = 0; j < count; j++) {
    const accountId = newId("acct");
    const nodeId = newId("node");
    const wallet = (await generateKeyPairSigner()).address;
    const micros = 10_000_000 + ((j * 7_919) % 50_000_000);
    total += micros;
    lines.push(
      `INSERT INTO accounts (id, created_at) VALUES ('${accountId}', ${now});`,
      `INSERT INTO node_owners (node_id, account_id, created_at) VALUES ('${nodeId}', '${accountId}', ${now});`,
      `INSERT INTO account_wallets (account_id, kind, address, created_at) VALUES ('${accountId}', 'payout', '${wallet}', ${now});`,
      `INSERT INTO ledger_accounts (id, kind, account_id, owner_id, balance_micros, created_at) VALUES ('earnings:${nodeId}', 'earnings', NULL, '${nodeId}', ${micros}, ${now});`,
    );
  }
  await bench.seed(lines);
  return total;
}

interface RunView {
  paid: number;
  paidMicros: number;
  pending: number;
  resigned: number;
  confirmed: number;
}

async function main(): Promise<void> {
  const bench = await chainBench("payouts");
  const { addresses: a, rpc, file } = bench;
  try {
    const seeded = await seed(bench, PAYOUTS);
    const stack = await bench.start({ PAYOUT_MIN_MICROS: "10000000" });
    const lamportsBefore = (await rpc.getBalance(address(a.treasury), { commitment: "confirmed" }).send())
      .value;
    const started = performance.now();
    let runs = 0;
    let paidMicros = 0;
    let resigned = 0;
    for (;;) {
      runs += 1;
      const res = await fetch(`${stack.url}/v1/operator/payouts/run`, {
        method: "POST",
        headers: { authorization: `Bearer ${BENCH_OPERATOR_TOKEN}` },
      });
      if (res.status !== 200) throw new Error(`payout run answered ${res.status}: ${await res.text()}`);
      const result = (await res.json()) as RunView;
      paidMicros += result.paidMicros;
      resigned += result.resigned;
      if (result.pending === 0) break;
    }
    const seconds = (performance.now() - started) / 1000;
    const lamportsAfter = (await rpc.getBalance(address(a.treasury), { commitment: "confirmed" }).send())
      .value;
    const [transactions = 0, wireB64 = 0, signings = 0] = (
      await sqlite(
        file,
        "SELECT count(*), coalesce(sum(length(wire)), 0), coalesce(sum(signings), 0) FROM payout_batches WHERE status = 'confirmed';",
        true,
      )
    )
      .trim()
      .split("|")
      .map(Number);
    const paid = Number(
      (await sqlite(file, "SELECT count(*) FROM payouts WHERE status = 'paid';", true)).trim(),
    );
    const spent = Number(lamportsBefore - lamportsAfter);
    const feeLamports = signings * 5_000;
    const report = {
      payouts: PAYOUTS,
      paid,
      paidUsd: paidMicros / 1e6,
      seededUsd: seeded / 1e6,
      operatorRuns: runs,
      seconds: Number(seconds.toFixed(1)),
      transactions,
      payoutsPerTransaction: Number((paid / Math.max(1, transactions)).toFixed(2)),
      meanTransactionBytes: Math.round((wireB64 * 3) / 4 / Math.max(1, transactions)),
      resigned,
      treasuryLamportsSpent: spent,
      signatureFeeLamports: feeLamports,
      tokenAccountRentLamports: spent - feeLamports,
      rentPerNewWalletLamports: Math.round((spent - feeLamports) / Math.max(1, paid)),
    };
    console.log(JSON.stringify(report, null, 2));
    if (paid !== PAYOUTS || paidMicros !== seeded) throw new Error("not every payout was paid exactly once");
  } finally {
    await bench.dispose();
  }
}

await main();
