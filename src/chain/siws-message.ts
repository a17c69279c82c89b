import type { SiwsFields } from "../shared/chain-api.js";
import type { SolanaCluster } from "./chain-config.js";

/** How long a sign-in message can be used. */
export const SIWS_TTL_MS = 5 * 60_000;

const CHAIN_IDS: Record<SolanaCluster, string> = {
  local: "localnet",
  devnet: "devnet",
  testnet: "testnet",
  "mainnet-beta": "mainnet",
};

export function siwsChainId(cluster: SolanaCluster): string {
  return CHAIN_IDS[cluster];
}

/**
 * The message text of Sign In With Solana (the CAIP-122 / EIP-4361 layout wallets display):
 * the wallet signs exactly these UTF-8 bytes.
 */
export function siwsMessageText(f: SiwsFields): string {
  return [
    `${f.domain} wants you to sign in with your Solana account:`,
    f.address,
    "",
    f.statement,
    "",
    `URI: ${f.uri}`,
    `Version: ${f.version}`,
    `Chain ID: ${f.chainId}`,
    `Nonce: ${f.nonce}`,
    `Issued At: ${f.issuedAt}`,
    `Expiration Time: ${f.expirationTime}`,
  ].join("\n");
}

/** The domain a message names (its first line), or null when it is not a SIWS message. */
export function siwsDomainOf(message: string): string | null {
  const match = /^(\S+) wants you to sign in with your Solana account:\n/.exec(message);
  return match?.[1] ?? null;
}
