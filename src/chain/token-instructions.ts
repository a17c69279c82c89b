import type { Address, Instruction, TransactionSigner } from "@solana/kit";
import {
  findAssociatedTokenPda,
  getBurnCheckedInstruction,
  getCreateAssociatedTokenIdempotentInstruction,
  getTransferCheckedInstruction,
  TOKEN_PROGRAM_ADDRESS,
} from "@solana-program/token";

export async function associatedTokenAddress(owner: Address, mint: Address): Promise<Address> {
  const [ata] = await findAssociatedTokenPda({ owner, mint, tokenProgram: TOKEN_PROGRAM_ADDRESS });
  return ata;
}

export interface TokenTransfer {
  mint: Address;
  decimals: number;
  /** The wallet paying: signs, and its associated token account is the source. */
  from: TransactionSigner;
  /** The recipient wallet; its associated token account is created when missing (the payer pays rent). */
  to: Address;
  amount: bigint;
  payer: TransactionSigner;
}

/** An SPL transfer to a wallet: create its associated token account if missing, then transferChecked. */
export async function tokenTransferInstructions(transfer: TokenTransfer): Promise<Instruction[]> {
  const source = await associatedTokenAddress(transfer.from.address, transfer.mint);
  const destination = await associatedTokenAddress(transfer.to, transfer.mint);
  return [
    getCreateAssociatedTokenIdempotentInstruction({
      payer: transfer.payer,
      ata: destination,
      owner: transfer.to,
      mint: transfer.mint,
    }),
    getTransferCheckedInstruction({
      source,
      mint: transfer.mint,
      destination,
      authority: transfer.from,
      amount: transfer.amount,
      decimals: transfer.decimals,
    }),
  ];
}

/** An SPL transfer between two known token accounts (e.g. the treasury's MRD account and a vault). */
export function tokenAccountTransferInstruction(input: {
  source: Address;
  destination: Address;
  mint: Address;
  decimals: number;
  authority: TransactionSigner;
  amount: bigint;
}): Instruction {
  return getTransferCheckedInstruction(input);
}

/** Burns tokens from a token account: the mint's supply goes down by `amount`. */
export function burnInstruction(input: {
  account: Address;
  mint: Address;
  decimals: number;
  authority: TransactionSigner;
  amount: bigint;
}): Instruction {
  return getBurnCheckedInstruction(input);
}

/**
 * An SPL transfer out of a known token account (a vault) to a wallet, creating the wallet's
 * associated token account when missing.
 */
export async function tokenTransferFromAccountInstructions(input: {
  source: Address;
  to: Address;
  mint: Address;
  decimals: number;
  authority: TransactionSigner;
  payer: TransactionSigner;
  amount: bigint;
}): Promise<Instruction[]> {
  const destination = await associatedTokenAddress(input.to, input.mint);
  return [
    getCreateAssociatedTokenIdempotentInstruction({
      payer: input.payer,
      ata: destination,
      owner: input.to,
      mint: input.mint,
    }),
    getTransferCheckedInstruction({
      source: input.source,
      mint: input.mint,
      destination,
      authority: input.authority,
      amount: input.amount,
      decimals: input.decimals,
    }),
  ];
}
