import { MeridianError } from "../shared/errors.js";

/**
 * A decimal amount of whole tokens ("12.5") in base units of a mint with `decimals` decimals; 422
 * when it is not positive or has more decimals than the mint.
 */
export function toBaseUnits(text: string, decimals: number): bigint {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match)
    throw new MeridianError(422, "invalid_amount", "the amount is a decimal number of tokens such as 12.5");
  const fraction = match[2] ?? "";
  if (fraction.replace(/0+$/, "").length > decimals) {
    throw new MeridianError(422, "invalid_amount", `the amount has more than ${decimals} decimals`);
  }
  const base =
    BigInt(match[1] ?? "0") * 10n ** BigInt(decimals) +
    BigInt(fraction.padEnd(decimals, "0").slice(0, decimals) || "0");
  if (base <= 0n) throw new MeridianError(422, "invalid_amount", "the amount must be more than zero");
  return base;
}

/** Base units back to a decimal string without trailing zeros. */
export function fromBaseUnits(amount: bigint, decimals: number): string {
  const digits = amount.toString().padStart(decimals + 1, "0");
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals).replace(/0+$/, "");
  return fraction ? `${whole}.${fraction}` : whole;
}
