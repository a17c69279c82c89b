import { z } from "zod";
import { TokenAmount } from "./chain-api.js";

/** Request and response bodies of provider staking (src/chain/staking). */

/** A transaction signature: base58 of 64 bytes (87 or 88 characters). */
export const TransactionSignature = z
  .string()
  .regex(/^[1-9A-HJ-NP-Za-km-z]{86,88}$/, { message: "a transaction signature (base58)" });

/** POST /v1/provider/staking/:nodeId/deposits: the transaction the provider signed and sent. */
export const StakeDepositRequest = z.object({ signature: TransactionSignature }).strict();

/** POST /v1/provider/staking/:nodeId/unstake */
export const UnstakeRequest = z.object({ amount: TokenAmount }).strict();

/** POST /v1/operator/staking/:nodeId/slash: what proves the misbehaviour. */
export const SlashRequest = z
  .object({
    /** `dispute:<id>` (a charge dispute on this node, refunded) or `verification` (its current, rejected verification). */
    evidence: z.union([z.string().regex(/^dispute:dsp_[0-9a-z]{26}$/), z.literal("verification")]),
    reason: z.string().min(1).max(300),
  })
  .strict();

const MrdAmount = z.object({ mrd: z.string(), base: z.string() });

export const StakeTransferView = z.object({
  id: z.string(),
  kind: z.enum(["withdraw", "slash"]),
  amount: MrdAmount,
  /** unbonding (cooling down) → open (being sent) → done; failed only if it cannot be sent. */
  status: z.enum(["unbonding", "open", "done", "failed"]),
  readyAt: z.string(),
  destination: z.string().nullable(),
  evidence: z.string().nullable(),
  evidenceHash: z.string().nullable(),
  reason: z.string().nullable(),
  signature: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  doneAt: z.string().nullable(),
});
export type StakeTransferView = z.infer<typeof StakeTransferView>;

/** A node's listing tier, from what it has staked (see `STAKE_TIERS`): higher tiers rank higher. */
export const StakeTier = z.enum(["none", "bronze", "silver", "gold"]);
export type StakeTier = z.infer<typeof StakeTier>;

export const StakeView = z.object({
  nodeId: z.string(),
  staked: MrdAmount,
  /** Asked back, still in the vault: cooling down or being sent. Still slashable. */
  unbonding: MrdAmount,
  tier: StakeTier,
  cooldownMs: z.number().int(),
  slashShareBps: z.number().int(),
  /** How to stake: an MRD transfer into the vault, in a transaction carrying this memo. */
  deposit: z.object({ vault: z.string(), mint: z.string(), memo: z.string() }),
  deposits: z.array(
    z.object({ signature: z.string(), amount: MrdAmount, wallet: z.string(), at: z.string() }),
  ),
  transfers: z.array(StakeTransferView),
});
export type StakeView = z.infer<typeof StakeView>;

/** What one stake run did (POST /v1/operator/staking/run). */
export const StakeRunView = z.object({
  at: z.string(),
  claimed: z.number().int(),
  done: z.number().int(),
  pending: z.number().int(),
  failed: z.number().int(),
  resigned: z.number().int(),
  /** Withdrawals that are due but whose owner has no payout wallet to receive them. */
  waitingForWallet: z.number().int(),
});
