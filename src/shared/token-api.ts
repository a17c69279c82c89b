import { z } from "zod";

/** An amount of MRD both ways: whole tokens as a decimal string, and base units (6 decimals). */
const MrdAmount = z.object({ mrd: z.string(), base: z.string() });

/** GET /v1/token/stats: the MRD token as the chain and the ledger see it. */
export const TokenStatsView = z.object({
  mint: z.string(),
  decimals: z.number().int(),
  /** The mint's supply now (at `confirmed`): what exists after every burn. */
  supply: MrdAmount,
  /** MRD burned by buy-back runs, the µUSD of burn reserve they spent, and how many ran. */
  burned: MrdAmount.extend({ micros: z.number().int(), burns: z.number().int() }),
  /** MRD held in the stake vault. */
  staked: MrdAmount,
  /** µUSD the burn reserve holds now, waiting for the next burn. */
  burnReserveMicros: z.number().int(),
  /** µUSD per whole MRD: the rate burns buy at and MRD top-ups credit at. */
  rateMicros: z.number().int(),
  lastBurn: z
    .object({ id: z.string(), signature: z.string(), mrd: z.string(), burnedAt: z.string() })
    .nullable(),
});
export type TokenStatsView = z.infer<typeof TokenStatsView>;

/** One burn (GET /v1/token/burns). */
export const BurnView = z.object({
  id: z.string(),
  status: z.enum(["open", "burned", "failed"]),
  reserveMicros: z.number().int(),
  rateMicros: z.number().int(),
  mrd: z.string(),
  signature: z.string().nullable(),
  slot: z.number().int().nullable(),
  error: z.string().nullable(),
  claimedAt: z.string(),
  burnedAt: z.string().nullable(),
});
export type BurnView = z.infer<typeof BurnView>;

export const BurnList = z.object({ burns: z.array(BurnView) });

export const BurnListQuery = z
  .object({ limit: z.coerce.number().int().min(1).max(100).default(20) })
  .strict();

/** What one burn run did (POST /v1/operator/burns/run). */
export const BurnRunView = z.object({
  at: z.string(),
  claimed: z.number().int(),
  burned: z.number().int(),
  burnedMicros: z.number().int(),
  burnedMrdBase: z.number().int(),
  pending: z.number().int(),
  failed: z.number().int(),
  /** Of the failed: burns preflight refused until their bytes died (see the burn's error). */
  refused: z.number().int(),
  resigned: z.number().int(),
});
export type BurnRunView = z.infer<typeof BurnRunView>;
