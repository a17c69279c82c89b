/** Variables the referral programme reads; both optional, with the defaults below. */
export interface ReferralVars {
  /** The referrer's share of the platform's part of each fee (after the burn share), in basis points. */
  REFERRAL_SHARE_BPS?: string;
  /** For how many days after a referred account signs up its fees pay the referrer; 0 disables it. */
  REFERRAL_DAYS?: string;
}

export const DEFAULT_REFERRAL_SHARE_BPS = 1000;
export const DEFAULT_REFERRAL_DAYS = 90;
const MAX_REFERRAL_DAYS = 3650;
const DAY_MS = 86_400_000;

export interface ReferralConfig {
  shareBps: number;
  days: number;
}

function integerIn(name: string, raw: unknown, fallback: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new Error(`${name} must be an integer between 0 and ${max}`);
  }
  return value;
}

/** The programme's terms from the Worker's env. A misconfigured value throws a plain Error (a 500). */
export function referralConfig(env: object): ReferralConfig {
  const vars = env as { [K in keyof ReferralVars]?: unknown };
  return {
    shareBps: integerIn("REFERRAL_SHARE_BPS", vars.REFERRAL_SHARE_BPS, DEFAULT_REFERRAL_SHARE_BPS, 10_000),
    days: integerIn("REFERRAL_DAYS", vars.REFERRAL_DAYS, DEFAULT_REFERRAL_DAYS, MAX_REFERRAL_DAYS),
  };
}

/** When a referral made at `at` stops paying. */
export function referralEndsAt(config: ReferralConfig, at: number): number {
  return at + config.days * DAY_MS;
}
