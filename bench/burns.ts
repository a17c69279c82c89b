/**
 * `npm run bench:burn`: buy-back-and-burn runs on the local chain with cluster-like 400 ms slots.
 * Each of N rounds (default 20) puts $5 into the ledger's burn reserve and asks
 * `POST /v1/operator/burns/run` until the burn has landed: the reserve claimed, the MRD it buys
 * burned from the burn vault in one transaction signed, stored, sent and confirmed (the payouts
 * object's exactly-once steps). Baseline, in the same run and on the same chain: one memo
 * transaction built, signed and sent with @solana/kit directly and polled to `confirmed` — the floor
 * any on-chain step pays. Reported: time per burn p50/p99 and its ratio to the baseline, fees and
 * bytes per burn, and the supply drop checked against the ledger.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import {
  address,
  appendTransactionMessageInstruction,
  createKeyPairSignerFromBytes,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from "@solana/kit";
import { memoInstruction } from "../src/chain/memo.js";
import { BENCH_OPERATOR_TOKEN, chainBench, p50p99 } from "./support/chain-bench.js";
import { sqlite } from "./support/wrangler.js";

const ROUNDS = Number(process.env.BENCH_BURNS ?? 20);
const RESERVE_MICROS = 5_000_000;
const MRD_USD_MICROS = 100_000;

async function main(): Promise<void> {
  const bench = await chainBench("burns");
  const { addresses: a, rpc, file } = bench;
  try {
    const stack = await bench.start({
      BURN_VAULT: a.burnVault,
      MRD_USD_MICROS: String(MRD_USD_MICROS),
      BURN_MIN_MICROS: "1000000",
    });
    const treasury = await createKeyPairSignerFromBytes(
      Uint8Array.from(
        JSON.parse(readFileSync(path.join(bench.dir, "chain", "keys", "treasury.json"), "utf8")) as number[],
      ),
    );
    const supply = async () =>
      BigInt((await rpc.getTokenSupply(address(a.mrdMint), { commitment: "confirmed" }).send()).value.amount);
    const supplyBefore = await supply();
    const burnMs: number[] = [];
    const baselineMs: number[] = [];
    let runs = 0;
    let resigned = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // The reserve a day of fees would leave (written while wrangler dev runs: SQLite locks it).
      await sqlite(
        file,
        `UPDATE ledger_accounts SET balance_micros = balance_micros + ${RESERVE_MICROS} WHERE id = 'burn';
         INSERT OR IGNORE INTO ledger_accounts (id, kind, balance_micros, created_at) VALUES ('burn', 'burn', ${RESERVE_MICROS}, ${Date.now()});`,
      );
      let started = performance.now();
      for (;;) {
        runs += 1;
        const res = await fetch(`${stack.url}/v1/operator/burns/run`, {
          method: "POST",
          headers: { authorization: `Bearer ${BENCH_OPERATOR_TOKEN}` },
        });
        if (res.status !== 200) throw new Error(`burn run answered ${res.status}: ${await res.text()}`);
        const ran = (await res.json()) as {
          burned: number;
          pending: number;
          failed: number;
          resigned: number;
        };
        resigned += ran.resigned;
        if (ran.failed > 0) throw new Error("a burn failed");
        if (ran.burned > 0 && ran.pending === 0) break;
      }
      burnMs.push(performance.now() - started);

      started = performance.now();
      const { value: blockhash } = await rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
      const signed = await signTransactionMessageWithSigners(
        pipe(
          createTransactionMessage({ version: 0 }),
          (m) => setTransactionMessageFeePayerSigner(treasury, m),
          (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
          (m) => appendTransactionMessageInstruction(memoInstruction(`bench baseline ${round}`), m),
        ),
      );
      const signature = await rpc
        .sendTransaction(getBase64EncodedWireTransaction(signed), { encoding: "base64" })
        .send();
      for (;;) {
        const { value } = await rpc.getSignatureStatuses([signature]).send();
        const status = value[0]?.confirmationStatus;
        if (status === "confirmed" || status === "finalized") break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      baselineMs.push(performance.now() - started);
    }
    const [burns = 0, wireB64 = 0, signings = 0, burnedBase = 0, burnedMicros = 0] = (
      await sqlite(
        file,
        "SELECT count(*), coalesce(sum(length(wire)), 0), coalesce(sum(signings), 0), coalesce(sum(mrd_base), 0), coalesce(sum(reserve_micros), 0) FROM burns WHERE status = 'burned';",
        true,
      )
    )
      .trim()
      .split("|")
      .map(Number);
    const supplyDrop = supplyBefore - (await supply());
    const burn = p50p99(burnMs);
    const baseline = p50p99(baselineMs);
    const report = {
      rounds: ROUNDS,
      confirmedBurns: burns,
      operatorRuns: runs,
      resigned,
      burnMs: burn,
      baselineKitMemoConfirmedMs: baseline,
      ratioP50: Number((burn.p50 / baseline.p50).toFixed(2)),
      ratioP99: Number((burn.p99 / baseline.p99).toFixed(2)),
      feeLamportsPerBurn: Math.round((signings * 5_000) / Math.max(1, burns)),
      bytesPerBurnTransaction: Math.round((wireB64 * 3) / 4 / Math.max(1, burns)),
      burnedUsd: burnedMicros / 1e6,
      burnedMrdBase: burnedBase,
      supplyDropBase: Number(supplyDrop),
    };
    console.log(JSON.stringify(report, null, 2));
    if (burns !== ROUNDS || BigInt(burnedBase) !== supplyDrop) {
      throw new Error("the burns on chain do not match the ledger's");
    }
  } finally {
    await bench.dispose();
  }
}

await main();
