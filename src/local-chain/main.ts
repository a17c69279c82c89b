import path from "node:path";
import { readKeypairFile } from "./keypair-file.js";
import { startRpcServer } from "./rpc-server.js";

/**
 * `npm run chain` (and `npm start`): the local Solana JSON-RPC server. Settings from the environment:
 * MERIDIAN_CHAIN_PORT (8899), MERIDIAN_CHAIN_DIR (.meridian/chain), MERIDIAN_CHAIN_SLOT_MS (400),
 * MERIDIAN_CHAIN_FINALITY_SLOTS (32), MERIDIAN_CHAIN_TREASURY_KEY (a keypair file used at first start).
 */
function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}

const dir = path.resolve(process.env.MERIDIAN_CHAIN_DIR || ".meridian/chain");
const treasuryFile = process.env.MERIDIAN_CHAIN_TREASURY_KEY;
const running = await startRpcServer({
  dir,
  port: intFromEnv("MERIDIAN_CHAIN_PORT", 8899),
  slotMs: intFromEnv("MERIDIAN_CHAIN_SLOT_MS", 400),
  finalityLag: intFromEnv("MERIDIAN_CHAIN_FINALITY_SLOTS", 32),
  genesis: treasuryFile ? { treasuryKeypair: readKeypairFile(treasuryFile) } : {},
});
const a = running.chain.addresses;
process.stdout.write(
  `local Solana JSON-RPC on ${running.url} (state in ${dir}, slot ${running.chain.clock.tip})\n` +
    `  USDC mint ${a.usdcMint}\n  MRD mint  ${a.mrdMint}\n  treasury  ${a.treasury}\n`,
);
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    void running.close().then(() => process.exit(0));
  });
}
