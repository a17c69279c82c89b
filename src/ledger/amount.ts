import { MAX_TRANSFER_MICROS } from "../../schema/ledger.js";
import { MeridianError } from "../shared/errors.js";

/** Refuses an amount that is not a positive whole number of µUSD within a single transfer's limit. */
export function requireMicros(amountMicros: number, max = MAX_TRANSFER_MICROS, what = "amount"): number {
  if (!Number.isSafeInteger(amountMicros) || amountMicros <= 0 || amountMicros > max) {
    throw new MeridianError(
      400,
      "invalid_amount",
      `${what} must be a whole number of µUSD above 0 and at most ${max}`,
      {
        amountMicros,
      },
    );
  }
  return amountMicros;
}
