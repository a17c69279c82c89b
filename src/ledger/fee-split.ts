import { type SQL, sql } from "drizzle-orm";
import type { FeeConfig } from "./ledger-config.js";

/** Where a charge goes; the three legs sum to the charge exactly. */
export interface ChargeSplit {
  /** The platform's whole fee, burn share included. */
  feeMicros: number;
  /** The part of the fee sent to the burn reserve. */
  burnMicros: number;
  /** What the fee leaves in the platform's fees account. */
  platformMicros: number;
  providerMicros: number;
}

/**
 * Rounding (integer division, so down, on non-negative amounts): fee = ⌊charge × feeBps / 10⁴⌋,
 * burn = ⌊fee × burnBps / 10⁴⌋; the provider gets charge − fee, so any rounding remainder favours
 * the provider and the legs always sum to the charge. bigint keeps the products exact.
 */
export function splitCharge(chargeMicros: number, config: FeeConfig): ChargeSplit {
  const charge = BigInt(chargeMicros);
  const fee = (charge * BigInt(config.platformFeeBps)) / 10_000n;
  const burn = (fee * BigInt(config.burnShareBps)) / 10_000n;
  return {
    feeMicros: Number(fee),
    burnMicros: Number(burn),
    platformMicros: Number(fee - burn),
    providerMicros: Number(charge - fee),
  };
}

/**
 * The same split in SQLite, for settlements whose charge is only known inside the batch (capped at
 * the hold's balance). Integer division of integers in SQLite truncates, which is the floor here;
 * charges ≤ 10¹² µUSD times ≤ 10⁴ bps stays far below 2^63. Parameters are CAST because D1 binds
 * JavaScript numbers as REAL.
 */
export function splitChargeSql(charge: SQL, config: FeeConfig): { fee: SQL; burn: SQL; provider: SQL } {
  const fee = sql`((${charge}) * CAST(${config.platformFeeBps} AS INTEGER) / 10000)`;
  const burn = sql`(${fee} * CAST(${config.burnShareBps} AS INTEGER) / 10000)`;
  return { fee, burn, provider: sql`((${charge}) - ${fee})` };
}
