import { eq } from "drizzle-orm";
import { referralCodes } from "../../schema/referrals.js";
import { MeridianError } from "../shared/errors.js";
import type { LedgerDb } from "./ledger-db.js";

/** Crockford base32 in upper case: no I, L, O or U, so a code read aloud or typed is unambiguous. */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
export const REFERRAL_CODE_LENGTH = 10;
export const REFERRAL_CODE_PATTERN = /^[0-9A-HJKMNP-TV-Z]{10}$/;

/** 10 random characters: 50 bits, so two accounts drawing the same code is not a practical worry. */
export function newReferralCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(REFERRAL_CODE_LENGTH));
  let code = "";
  for (const byte of bytes) code += ALPHABET.charAt(byte % 32);
  return code;
}

export interface ReferralCode {
  code: string;
  createdAt: number;
}

export async function referralCodeOf(db: LedgerDb, accountId: string): Promise<ReferralCode | undefined> {
  return db
    .select({ code: referralCodes.code, createdAt: referralCodes.createdAt })
    .from(referralCodes)
    .where(eq(referralCodes.accountId, accountId))
    .get();
}

/** The account's code, created on first call; `created` says whether this call made it. */
export async function ensureReferralCode(
  db: LedgerDb,
  accountId: string,
  now: number,
): Promise<ReferralCode & { created: boolean }> {
  const existing = await referralCodeOf(db, accountId);
  if (existing) return { ...existing, created: false };
  const code = newReferralCode();
  // A concurrent first call may win the primary key; then its code is the account's.
  await db.insert(referralCodes).values({ accountId, code, createdAt: now }).onConflictDoNothing();
  const row = await referralCodeOf(db, accountId);
  if (!row) throw new Error(`referral code of ${accountId} missing after its insert`);
  return { ...row, created: row.code === code };
}

/** The account a code belongs to; 400 `unknown_referral_code` when none does. */
export async function referrerOf(db: LedgerDb, code: string): Promise<string> {
  const row = await db
    .select({ accountId: referralCodes.accountId })
    .from(referralCodes)
    .where(eq(referralCodes.code, code))
    .get();
  if (!row) throw new MeridianError(400, "unknown_referral_code", "no account has this referral code");
  return row.accountId;
}
