import { z } from "zod";

/** A referral code as an account hands it out: 10 characters of upper-case Crockford base32. */
export const ReferralCode = z
  .string()
  .regex(/^[0-9A-HJKMNP-TV-Z]{10}$/, "a referral code is 10 characters of 0-9 and A-Z without I, L, O, U");

/** GET/POST /v1/account/referral: the caller's code and what its referrals earned it. */
export const ReferralView = z.object({
  /** Null until the account asks for one (POST). */
  code: z.string().nullable(),
  /** The terms a new sign-up with this code gets now. */
  shareBps: z.number().int(),
  days: z.number().int(),
  referred: z.number().int(),
  active: z.number().int(),
  rewards: z.number().int(),
  earned: z.string(),
  earnedMicros: z.number().int(),
});
export type ReferralView = z.infer<typeof ReferralView>;
