import { type Address, isAddress } from "@solana/kit";
import { MeridianError } from "../shared/errors.js";

export type SolanaCluster = "local" | "devnet" | "testnet" | "mainnet-beta";

/** Variables and secrets the chain module reads (wrangler.toml vars, .dev.vars, `wrangler secret put`). */
export interface ChainVars {
  SOLANA_CLUSTER?: string;
  SOLANA_RPC_URL?: string;
  USDC_MINT?: string;
  MRD_MINT?: string;
  STAKE_VAULT?: string;
  BURN_VAULT?: string;
  /** Secret: the treasury's 64-byte keypair, base64 (a Solana CLI keypair file's bytes). */
  TREASURY_SECRET_KEY?: string;
  /** µUSD credited per whole MRD (10^6 base units) at top-up; "0" refuses MRD top-ups. */
  MRD_USD_MICROS?: string;
}

export interface ChainConfig {
  cluster: SolanaCluster;
  rpcUrl: string;
  usdcMint: Address;
  mrdMint: Address;
  stakeVault: Address | null;
  burnVault: Address | null;
  /** µUSD per whole MRD. */
  mrdUsdMicros: number;
  treasurySecret: Uint8Array;
}

const CLUSTERS: readonly SolanaCluster[] = ["local", "devnet", "testnet", "mainnet-beta"];
export const DEFAULT_MRD_USD_MICROS = 100_000;

function notConfigured(what: string): MeridianError {
  return new MeridianError(
    503,
    "chain_not_configured",
    `the chain is not configured on this deployment (${what})`,
  );
}

function addressVar(vars: ChainVars, name: keyof ChainVars, required: true): Address;
function addressVar(vars: ChainVars, name: keyof ChainVars, required: false): Address | null;
function addressVar(vars: ChainVars, name: keyof ChainVars, required: boolean): Address | null {
  const raw = vars[name];
  if (raw === undefined || raw === "") {
    if (required) throw notConfigured(`${name} is not set`);
    return null;
  }
  if (!isAddress(raw)) throw new Error(`${name} is not a Solana address`);
  return raw;
}

function decodeSecret(raw: string | undefined): Uint8Array {
  if (!raw) throw notConfigured("TREASURY_SECRET_KEY is not set");
  const binary = atob(raw.trim());
  const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
  if (bytes.length !== 64) throw new Error("TREASURY_SECRET_KEY must be a 64-byte keypair, base64");
  return bytes;
}

/** Which cluster this deployment talks to; only "local" allows the faucet. */
export function clusterOf(env: object): SolanaCluster {
  const raw = (env as ChainVars).SOLANA_CLUSTER;
  if (raw === undefined || raw === "") return "local";
  if (!CLUSTERS.includes(raw as SolanaCluster))
    throw new Error(`SOLANA_CLUSTER must be one of ${CLUSTERS.join(", ")}`);
  return raw as SolanaCluster;
}

/**
 * The chain settings from the Worker's env. A missing one is a 503 `chain_not_configured` (the
 * deployment has no chain yet); a malformed one throws a plain Error (a deployment mistake).
 */
export function chainConfig(env: object): ChainConfig {
  const vars = env as ChainVars;
  const rate =
    vars.MRD_USD_MICROS === undefined || vars.MRD_USD_MICROS === ""
      ? DEFAULT_MRD_USD_MICROS
      : Number(vars.MRD_USD_MICROS);
  if (!Number.isSafeInteger(rate) || rate < 0)
    throw new Error("MRD_USD_MICROS must be a non-negative integer");
  if (!vars.SOLANA_RPC_URL) throw notConfigured("SOLANA_RPC_URL is not set");
  return {
    cluster: clusterOf(env),
    rpcUrl: vars.SOLANA_RPC_URL,
    usdcMint: addressVar(vars, "USDC_MINT", true),
    mrdMint: addressVar(vars, "MRD_MINT", true),
    stakeVault: addressVar(vars, "STAKE_VAULT", false),
    burnVault: addressVar(vars, "BURN_VAULT", false),
    mrdUsdMicros: rate,
    treasurySecret: decodeSecret(vars.TREASURY_SECRET_KEY),
  };
}
