import { parseUsd } from "../shared/money.js";

/** Variables and secrets the ledger reads; all optional, with the defaults below. */
export interface LedgerVars {
  /** Secret: `Authorization: Bearer <token>` for operator routes (POST /v1/credits). Unset: disabled. */
  OPERATOR_TOKEN?: string;
  /** Credit granted once at sign-up, as a USD decimal ("5.00"); "0" disables it. */
  SIGNUP_CREDIT_USD?: string;
  /** Platform fee in basis points of each charge (1000 = 10%). */
  PLATFORM_FEE_BPS?: string;
  /** Share of the platform fee sent to the burn reserve, in basis points of the fee (2000 = 20%). */
  BURN_SHARE_BPS?: string;
}

export const DEFAULT_SIGNUP_CREDIT_USD = "5.00";
export const DEFAULT_PLATFORM_FEE_BPS = 1000;
export const DEFAULT_BURN_SHARE_BPS = 2000;

/** How a charge is split; both in basis points (0–10,000). */
export interface FeeConfig {
  platformFeeBps: number;
  burnShareBps: number;
}

export interface LedgerConfig extends FeeConfig {
  signupCreditMicros: number;
  operatorToken: string | null;
}

function bps(name: string, raw: unknown, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 10_000) {
    throw new Error(`${name} must be an integer number of basis points between 0 and 10000`);
  }
  return value;
}

/**
 * The ledger's settings from the Worker's (or Region object's) env. A misconfigured value throws a
 * plain Error (a 500): it is a deployment mistake, not the caller's.
 */
export function ledgerConfig(env: object): LedgerConfig {
  const vars = env as { [K in keyof LedgerVars]?: unknown };
  const grantText =
    vars.SIGNUP_CREDIT_USD === undefined ? DEFAULT_SIGNUP_CREDIT_USD : String(vars.SIGNUP_CREDIT_USD);
  const signupCreditMicros = parseUsd(grantText.trim());
  if (signupCreditMicros === undefined)
    throw new Error("SIGNUP_CREDIT_USD must be a USD amount such as 5.00");
  const token =
    typeof vars.OPERATOR_TOKEN === "string" && vars.OPERATOR_TOKEN.length > 0 ? vars.OPERATOR_TOKEN : null;
  return {
    platformFeeBps: bps("PLATFORM_FEE_BPS", vars.PLATFORM_FEE_BPS, DEFAULT_PLATFORM_FEE_BPS),
    burnShareBps: bps("BURN_SHARE_BPS", vars.BURN_SHARE_BPS, DEFAULT_BURN_SHARE_BPS),
    signupCreditMicros,
    operatorToken: token,
  };
}
