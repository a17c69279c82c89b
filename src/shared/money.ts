import { z } from "zod";

/** 1 USD = 1,000,000 µUSD. Money is always an integer count of µUSD; never a float. */
export const MICROS_PER_USD = 1_000_000;

const DECIMAL_USD = /^(0|[1-9][0-9]{0,8})(\.[0-9]{1,6})?$/;

/** Parses "2.10" (or the number 2.1, read through its decimal text) to 2_100_000 µUSD exactly. */
export function parseUsd(text: string): number | undefined {
  if (!DECIMAL_USD.test(text)) return undefined;
  const [whole = "0", fraction = ""] = text.split(".");
  return Number(whole) * MICROS_PER_USD + Number(fraction.padEnd(6, "0"));
}

export function formatUsd(micros: number): string {
  const sign = micros < 0 ? "-" : "";
  const abs = Math.abs(micros);
  const whole = Math.floor(abs / MICROS_PER_USD);
  const fraction = String(abs % MICROS_PER_USD)
    .padStart(6, "0")
    .replace(/0{1,4}$/, "");
  return `${sign}${whole}.${fraction.padEnd(2, "0")}`;
}

/** A USD amount given as a decimal string or a plain number; parsed to integer µUSD. */
export const UsdAmount = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const micros = parseUsd(typeof value === "number" ? String(value) : value.trim());
  if (micros === undefined) {
    ctx.addIssue({
      code: "custom",
      message: 'must be a non-negative USD amount with at most 6 decimal places, e.g. "2.10"',
    });
    return z.NEVER;
  }
  return micros;
});
