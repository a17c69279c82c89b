import { z } from "zod";

/** A provider payout as the API shows it (GET /v1/provider/payouts). */
export const PayoutView = z.object({
  id: z.string(),
  nodeId: z.string(),
  wallet: z.string(),
  amount: z.string(),
  amountMicros: z.number().int(),
  token: z.literal("usdc"),
  /** claimed: amount fixed, transaction not yet confirmed; paid: confirmed on chain; failed: released. */
  status: z.enum(["claimed", "paid", "failed"]),
  signature: z.string().nullable(),
  note: z.string().nullable(),
  claimedAt: z.string(),
  paidAt: z.string().nullable(),
});
export type PayoutView = z.infer<typeof PayoutView>;

export const PayoutList = z.object({ payouts: z.array(PayoutView) });

export const PayoutListQuery = z
  .object({
    status: z.enum(["claimed", "paid", "failed"]).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();

/** What one payout run did (POST /v1/operator/payouts/run). */
export const PayoutRunView = z.object({
  at: z.string(),
  trigger: z.enum(["schedule", "operator", "alarm"]),
  claimed: z.number().int(),
  confirmed: z.number().int(),
  paid: z.number().int(),
  paidMicros: z.number().int(),
  pending: z.number().int(),
  failed: z.number().int(),
  /** Of the failed: transactions preflight refused until their bytes died (see the payouts' notes). */
  refused: z.number().int(),
  resigned: z.number().int(),
});
export type PayoutRunView = z.infer<typeof PayoutRunView>;
