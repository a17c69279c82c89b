import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type Address, address, getBase58Decoder, none, some } from "@solana/kit";
import {
  AccountState,
  findAssociatedTokenPda,
  getMintEncoder,
  getTokenEncoder,
  TOKEN_PROGRAM_ADDRESS,
} from "@solana-program/token";
import type { AccountSnapshot, AccountWrite } from "./chain-store.js";
import { addressOfKeypair, newKeypairBytes, readKeypairFile, writeKeypairFile } from "./keypair-file.js";

const SYSTEM_PROGRAM = "11111111111111111111111111111111";
const LAMPORTS_PER_SOL = 1_000_000_000n;
/** Both mints use 6 decimals, so 1 base unit of USDC is 1 µUSD, the ledger's unit. */
export const TOKEN_DECIMALS = 6;
const TOKEN_UNIT = 10n ** BigInt(TOKEN_DECIMALS);

/** The local chain's well-known accounts, written to `addresses.json` for the Worker and the CLI. */
export interface ChainAddresses {
  cluster: "local";
  genesisHash: string;
  usdcMint: string;
  mrdMint: string;
  decimals: number;
  /** The treasury wallet: receives top-ups, pays payouts, signs memos and burns. */
  treasury: string;
  treasuryUsdc: string;
  treasuryMrd: string;
  /** MRD token account owned by the treasury that holds providers' stakes (custodial). */
  stakeVault: string;
  /** MRD token account owned by the treasury that holds bought-back MRD until it is burned. */
  burnVault: string;
  /** Pays for airdrops (SOL). */
  faucet: string;
  /** Mints USDC and MRD for the local faucet. */
  mintAuthority: string;
}

export interface GenesisOptions {
  /** Use this treasury key instead of a new one (e.g. one a test already gave the Worker). */
  treasuryKeypair?: Uint8Array;
}

export interface GenesisResult {
  addresses: ChainAddresses;
  accounts: AccountWrite[];
}

export interface ChainKeys {
  faucet: Uint8Array;
  mintAuthority: Uint8Array;
  treasury: Uint8Array;
}

export function keysDir(dir: string): string {
  return path.join(dir, "keys");
}

export function readChainKeys(dir: string): ChainKeys {
  const keys = keysDir(dir);
  return {
    faucet: readKeypairFile(path.join(keys, "faucet.json")),
    mintAuthority: readKeypairFile(path.join(keys, "mint-authority.json")),
    treasury: readKeypairFile(path.join(keys, "treasury.json")),
  };
}

export function readAddresses(dir: string): ChainAddresses | null {
  const file = path.join(dir, "addresses.json");
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, "utf8")) as ChainAddresses;
}

function system(lamports: bigint): AccountSnapshot {
  return { lamports, owner: SYSTEM_PROGRAM, executable: false, data: new Uint8Array() };
}

function tokenProgramAccount(data: Uint8Array, lamports: bigint): AccountSnapshot {
  return { lamports, owner: TOKEN_PROGRAM_ADDRESS, executable: false, data };
}

function mintData(authority: Address, supply: bigint): Uint8Array {
  return new Uint8Array(
    getMintEncoder().encode({
      mintAuthority: some(authority),
      supply,
      decimals: TOKEN_DECIMALS,
      isInitialized: true,
      freezeAuthority: none(),
    }),
  );
}

function tokenData(mint: Address, owner: Address, amount: bigint): Uint8Array {
  return new Uint8Array(
    getTokenEncoder().encode({
      mint,
      owner,
      amount,
      delegate: none(),
      state: AccountState.Initialized,
      isNative: none(),
      delegatedAmount: 0n,
      closeAuthority: none(),
    }),
  );
}

/**
 * The first start: keys for the faucet, the mint authority and the treasury (Solana CLI keypair
 * files under `keys/`, mode 0600), the USDC stand-in and MRD mints, and the treasury's token
 * accounts, written straight into the chain's state. The treasury starts with a USDC float (so
 * payouts work before any top-up) and the whole initial MRD supply.
 */
export async function createGenesis(
  dir: string,
  rent: (bytes: number) => bigint,
  options: GenesisOptions = {},
): Promise<GenesisResult> {
  const keys = keysDir(dir);
  const faucet = newKeypairBytes();
  const mintAuthority = newKeypairBytes();
  const treasuryKey = options.treasuryKeypair ?? newKeypairBytes();
  writeKeypairFile(path.join(keys, "faucet.json"), faucet);
  writeKeypairFile(path.join(keys, "mint-authority.json"), mintAuthority);
  writeKeypairFile(path.join(keys, "treasury.json"), treasuryKey);
  const treasury = address(addressOfKeypair(treasuryKey));
  const authority = address(addressOfKeypair(mintAuthority));
  const usdcMint = address(addressOfKeypair(newKeypairBytes()));
  const mrdMint = address(addressOfKeypair(newKeypairBytes()));
  const stakeVault = address(addressOfKeypair(newKeypairBytes()));
  const burnVault = address(addressOfKeypair(newKeypairBytes()));
  const [treasuryUsdc] = await findAssociatedTokenPda({
    mint: usdcMint,
    owner: treasury,
    tokenProgram: TOKEN_PROGRAM_ADDRESS,
  });
  const [treasuryMrd] = await findAssociatedTokenPda({
    mint: mrdMint,
    owner: treasury,
    tokenProgram: TOKEN_PROGRAM_ADDRESS,
  });
  const usdcFloat = 1_000_000n * TOKEN_UNIT;
  const mrdSupply = 1_000_000_000n * TOKEN_UNIT;
  const mintRent = rent(82);
  const tokenRent = rent(165);
  const accounts: [string, AccountSnapshot][] = [
    [addressOfKeypair(faucet), system(500_000_000n * LAMPORTS_PER_SOL)],
    [authority, system(1_000n * LAMPORTS_PER_SOL)],
    [treasury, system(1_000n * LAMPORTS_PER_SOL)],
    [usdcMint, tokenProgramAccount(mintData(authority, usdcFloat), mintRent)],
    [mrdMint, tokenProgramAccount(mintData(authority, mrdSupply), mintRent)],
    [treasuryUsdc, tokenProgramAccount(tokenData(usdcMint, treasury, usdcFloat), tokenRent)],
    [treasuryMrd, tokenProgramAccount(tokenData(mrdMint, treasury, mrdSupply), tokenRent)],
    [stakeVault, tokenProgramAccount(tokenData(mrdMint, treasury, 0n), tokenRent)],
    [burnVault, tokenProgramAccount(tokenData(mrdMint, treasury, 0n), tokenRent)],
  ];
  const addresses: ChainAddresses = {
    cluster: "local",
    genesisHash: getBase58Decoder().decode(randomBytes(32)),
    usdcMint,
    mrdMint,
    decimals: TOKEN_DECIMALS,
    treasury,
    treasuryUsdc,
    treasuryMrd,
    stakeVault,
    burnVault,
    faucet: addressOfKeypair(faucet),
    mintAuthority: authority,
  };
  writeFileSync(path.join(dir, "addresses.json"), `${JSON.stringify(addresses, null, 2)}\n`);
  return {
    addresses,
    accounts: accounts.map(([addr, post]) => ({ slot: 0, address: addr, pre: null, post })),
  };
}
