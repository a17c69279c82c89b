import { MeridianError } from "../../shared/errors.js";

export interface BurnVars {
  /** µUSD the burn reserve must hold before a run buys and burns MRD with it. */
  BURN_MIN_MICROS?: string;
}

/** $1: below it the transaction fee is a visible share of what is burned. */
export const DEFAULT_BURN_MIN_MICROS = 1_000_000;

export function burnMinMicros(env: object): number {
  const raw = (env as BurnVars).BURN_MIN_MICROS;
  const min = raw ? Number(raw) : DEFAULT_BURN_MIN_MICROS;
  if (!Number.isSafeInteger(min) || min < 1) {
    throw new MeridianError(503, "burns_misconfigured", "BURN_MIN_MICROS must be a positive integer");
  }
  return min;
}

/** Whole MRD are 10^6 base units (6 decimals, like the USDC stand-in). */
const MRD_UNIT = 1_000_000n;

/**
 * MRD base units that `reserveMicros` buys at `rateMicros` µUSD per whole MRD, rounded down: the
 * treasury never burns more than the reserve paid for.
 */
export function mrdForMicros(reserveMicros: number, rateMicros: number): bigint {
  if (rateMicros <= 0) return 0n;
  return (BigInt(reserveMicros) * MRD_UNIT) / BigInt(rateMicros);
}
