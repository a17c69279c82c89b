import type { Address, Instruction, TransactionSigner } from "@solana/kit";
import { memoInstruction } from "../memo.js";
import {
  associatedTokenAddress,
  burnInstruction,
  tokenAccountTransferInstruction,
} from "../token-instructions.js";

export interface BurnPlan {
  burnId: string;
  reserveMicros: number;
  mrdBase: bigint;
  mrdMint: Address;
  /** The treasury-owned MRD account that receives the bought-back MRD and burns it. */
  burnVault: Address;
}

/** Memo prefix of a burn transaction; anyone can find and check a burn by it. */
export const BURN_MEMO_PREFIX = "meridian-burn-v1";

/**
 * One transaction: the treasury sells `mrdBase` MRD to the burn reserve (a transfer from its MRD
 * account into the burn vault), the vault burns exactly that (the mint's supply goes down), and a
 * memo names the burn and the µUSD it spent. All or nothing: a failed burn moves no MRD.
 */
export async function burnInstructions(treasury: TransactionSigner, plan: BurnPlan): Promise<Instruction[]> {
  const source = await associatedTokenAddress(treasury.address, plan.mrdMint);
  return [
    tokenAccountTransferInstruction({
      source,
      destination: plan.burnVault,
      mint: plan.mrdMint,
      decimals: 6,
      authority: treasury,
      amount: plan.mrdBase,
    }),
    burnInstruction({
      account: plan.burnVault,
      mint: plan.mrdMint,
      decimals: 6,
      authority: treasury,
      amount: plan.mrdBase,
    }),
    memoInstruction(`${BURN_MEMO_PREFIX} ${plan.burnId} ${plan.reserveMicros} ${plan.mrdBase}`, [treasury]),
  ];
}
