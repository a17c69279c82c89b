import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createSolanaRpc } from "@solana/kit";
import { type RunningChain, startRpcServer } from "../../src/local-chain/rpc-server.js";
import { d1File, freshState, type LocalStack, sqlite, startStack } from "./wrangler.js";

/** The operator token the money benches call `/v1/operator/…` with. */
export const BENCH_OPERATOR_TOKEN = "bench-operator-token";

/**
 * The set-up the money benches share: a scratch folder, the local chain with cluster-like 400 ms
 * slots, a fresh wrangler state whose D1 file can be seeded while wrangler dev is stopped, and a
 * stack started with the chain's addresses, the treasury key and the operator token.
 */
export interface ChainBench {
  dir: string;
  chain: RunningChain;
  rpc: ReturnType<typeof createSolanaRpc>;
  addresses: RunningChain["chain"]["addresses"];
  state: string;
  /** The local D1's SQLite file. */
  file: string;
  /** Runs `lines` as one transaction on the D1 file (wrangler dev must be stopped). */
  seed(lines: readonly string[]): Promise<void>;
  /** Starts wrangler dev on the seeded state with the chain's variables and `vars`. */
  start(vars?: Record<string, string>): Promise<LocalStack>;
  /** Stops the stack (if started) and the chain, and removes the folder. */
  dispose(): Promise<void>;
}

export async function chainBench(name: string): Promise<ChainBench> {
  const dir = mkdtempSync(path.join(tmpdir(), `meridian-bench-${name}-`));
  const chain = await startRpcServer({ dir: path.join(dir, "chain"), port: 0, slotMs: 400, finalityLag: 32 });
  const addresses = chain.chain.addresses;
  const treasuryKey = JSON.parse(
    readFileSync(path.join(dir, "chain", "keys", "treasury.json"), "utf8"),
  ) as number[];
  const state = await freshState();
  const file = await d1File(state);
  let stack: LocalStack | undefined;
  return {
    dir,
    chain,
    rpc: createSolanaRpc(chain.url),
    addresses,
    state,
    file,
    async seed(lines) {
      const sqlFile = path.join(dir, "seed.sql");
      writeFileSync(sqlFile, ["BEGIN;", ...lines, "COMMIT;"].join("\n"));
      await sqlite(file, `.read ${sqlFile}`);
    },
    async start(vars = {}) {
      stack = await startStack(state, {
        SOLANA_CLUSTER: "local",
        SOLANA_RPC_URL: chain.url,
        USDC_MINT: addresses.usdcMint,
        MRD_MINT: addresses.mrdMint,
        TREASURY_SECRET_KEY: Buffer.from(treasuryKey).toString("base64"),
        OPERATOR_TOKEN: BENCH_OPERATOR_TOKEN,
        ...vars,
      });
      return stack;
    },
    async dispose() {
      await stack?.dispose();
      await chain.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

/** p50 and p99 of `values`, in their unit, to three decimals. */
export function p50p99(values: readonly number[]): { p50: number; p99: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50: Number(percentile(sorted, 50).toFixed(3)), p99: Number(percentile(sorted, 99).toFixed(3)) };
}
