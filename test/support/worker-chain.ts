import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { type RunningChain, startRpcServer } from "../../src/local-chain/rpc-server.js";

/**
 * The local chain the workerd tests pay on: started once per `vitest run` by the workers config, in
 * the vitest process, on a free port; fast slots so confirmation and blockhash expiry take little time.
 */
// The config and vitest's globalSetup load this file as two modules of one process: the running
// chain is kept on globalThis so the teardown finds the one the config started.
const KEY = Symbol.for("meridian.workerTestChain");
interface Held {
  chain: RunningChain;
  dir: string;
  bindings: Record<string, string>;
}
const holder = globalThis as unknown as { [KEY]?: Promise<Held> };

export function startWorkerTestChain(): Promise<{ bindings: Record<string, string> }> {
  holder[KEY] ??= start();
  return holder[KEY];
}

async function start(): Promise<Held> {
  const dir = mkdtempSync(path.join(tmpdir(), "meridian-worker-chain-"));
  const chain = await startRpcServer({ dir, port: 0, slotMs: 25, finalityLag: 8 });
  const a = chain.chain.addresses;
  const treasury = JSON.parse(readFileSync(path.join(dir, "keys", "treasury.json"), "utf8")) as number[];
  return {
    chain,
    dir,
    bindings: {
      SOLANA_CLUSTER: "local",
      SOLANA_RPC_URL: chain.url,
      USDC_MINT: a.usdcMint,
      MRD_MINT: a.mrdMint,
      STAKE_VAULT: a.stakeVault,
      BURN_VAULT: a.burnVault,
      TREASURY_SECRET_KEY: Buffer.from(treasury).toString("base64"),
    },
  };
}

export async function stopWorkerTestChain(): Promise<void> {
  const held = holder[KEY];
  if (!held) return;
  delete holder[KEY];
  const { chain, dir } = await held;
  await chain.close();
  rmSync(dir, { recursive: true, force: true });
}
