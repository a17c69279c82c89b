import { type Address, isSome, type Option } from "@solana/kit";
import { getMintDecoder, getTokenDecoder, TOKEN_PROGRAM_ADDRESS } from "@solana-program/token";

export const TOKEN_2022_PROGRAM_ADDRESS = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb" as Address;
const TOKEN_ACCOUNT_SIZE = 165;
const MINT_SIZE = 82;

export interface UiTokenAmount {
  amount: string;
  decimals: number;
  uiAmount: number | null;
  uiAmountString: string;
}

export interface TokenAccountState {
  mint: Address;
  owner: Address;
  amount: bigint;
  delegate: Address | null;
  delegatedAmount: bigint;
  state: "uninitialized" | "initialized" | "frozen";
  isNative: bigint | null;
  closeAuthority: Address | null;
}

export interface MintState {
  mintAuthority: Address | null;
  supply: bigint;
  decimals: number;
  isInitialized: boolean;
  freezeAuthority: Address | null;
}

export function isTokenProgram(owner: string): boolean {
  return owner === TOKEN_PROGRAM_ADDRESS || owner === TOKEN_2022_PROGRAM_ADDRESS;
}

function optional<T>(value: Option<T>): T | null {
  return isSome(value) ? value.value : null;
}

const STATES = ["uninitialized", "initialized", "frozen"] as const;

/** A token account's fields, for the token programs' base layout (Token-2022 extensions after it are ignored). */
export function decodeTokenAccount(owner: string, data: Uint8Array): TokenAccountState | null {
  if (!isTokenProgram(owner) || data.length < TOKEN_ACCOUNT_SIZE) return null;
  if (data.length === MINT_SIZE) return null;
  // Token-2022 marks its account type in byte 165; a plain token account is exactly 165 bytes.
  if (data.length > TOKEN_ACCOUNT_SIZE && data[TOKEN_ACCOUNT_SIZE] !== 2) return null;
  const decoded = getTokenDecoder().decode(data.subarray(0, TOKEN_ACCOUNT_SIZE));
  return {
    mint: decoded.mint,
    owner: decoded.owner,
    amount: decoded.amount,
    delegate: optional(decoded.delegate),
    delegatedAmount: decoded.delegatedAmount,
    state: STATES[decoded.state] ?? "uninitialized",
    isNative: optional(decoded.isNative),
    closeAuthority: optional(decoded.closeAuthority),
  };
}

export function decodeMint(owner: string, data: Uint8Array): MintState | null {
  if (!isTokenProgram(owner) || data.length < MINT_SIZE) return null;
  if (data.length !== MINT_SIZE && data[TOKEN_ACCOUNT_SIZE] !== 1) return null;
  const decoded = getMintDecoder().decode(data.subarray(0, MINT_SIZE));
  return {
    mintAuthority: optional(decoded.mintAuthority),
    supply: decoded.supply,
    decimals: decoded.decimals,
    isInitialized: decoded.isInitialized,
    freezeAuthority: optional(decoded.freezeAuthority),
  };
}

/** The amount as a decimal string without trailing zeros, as the RPC's `uiAmountString` writes it. */
export function uiAmountString(amount: bigint, decimals: number): string {
  if (decimals === 0) return amount.toString();
  const digits = amount.toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  return fraction.length > 0 ? `${whole}.${fraction}` : whole;
}

export function uiTokenAmount(amount: bigint, decimals: number): UiTokenAmount {
  const text = uiAmountString(amount, decimals);
  return { amount: amount.toString(), decimals, uiAmount: Number(text), uiAmountString: text };
}
