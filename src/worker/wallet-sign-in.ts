import * as ed from "@noble/ed25519";
import { and, eq } from "drizzle-orm";
import type { DrizzleD1Database } from "drizzle-orm/d1";
import { accountWallets, siwsNonces } from "../../schema/chain.js";
import { accounts, apiKeys } from "../../schema/tables.js";
import type { SolanaCluster } from "../chain/chain-config.js";
import { SIWS_TTL_MS, siwsChainId, siwsDomainOf, siwsMessageText } from "../chain/siws-message.js";
import { signupCreditStatements } from "../ledger/credits.js";
import { referralConfig } from "../ledger/referral-config.js";
import { referralStatement } from "../ledger/referrals.js";
import type { KeyScope } from "../shared/api-key-scopes.js";
import { decodeBase58, encodeBase58 } from "../shared/base58.js";
import type { SiwsFields } from "../shared/chain-api.js";
import { MeridianError } from "../shared/errors.js";
import { newId } from "../shared/ids.js";
import { issueApiKey } from "./api-keys.js";

export type SiwsPurpose = "signin" | "payout";

const STATEMENTS: Record<SiwsPurpose, string> = {
  signin: "Sign in to Meridian.",
  payout: "Link this wallet to receive Meridian payouts.",
};

export interface ChallengeInput {
  address: string;
  purpose: SiwsPurpose;
  /** The account linking a payout wallet; null to sign in. */
  accountId: string | null;
  /** The request's origin (e.g. https://meridian.example.com): its host is the message's domain. */
  origin: string;
  cluster: SolanaCluster;
  now: number;
}

/** Issues a Sign In With Solana message with a fresh single-use nonce, stored until used or expired. */
export async function issueChallenge(
  db: DrizzleD1Database,
  input: ChallengeInput,
): Promise<{ message: string; fields: SiwsFields }> {
  const url = new URL(input.origin);
  const fields: SiwsFields = {
    domain: url.host,
    address: input.address,
    statement: STATEMENTS[input.purpose],
    uri: url.origin,
    version: "1",
    chainId: siwsChainId(input.cluster),
    nonce: encodeBase58(crypto.getRandomValues(new Uint8Array(16))),
    issuedAt: new Date(input.now).toISOString(),
    expirationTime: new Date(input.now + SIWS_TTL_MS).toISOString(),
  };
  const message = siwsMessageText(fields);
  await db.insert(siwsNonces).values({
    nonce: fields.nonce,
    purpose: input.purpose,
    address: input.address,
    accountId: input.accountId,
    message,
    expiresAt: input.now + SIWS_TTL_MS,
    createdAt: input.now,
  });
  return { message, fields };
}

function refused(code: string, message: string): MeridianError {
  return new MeridianError(401, code, message);
}

function decodeSignature(text: string): Uint8Array | undefined {
  const base58 = decodeBase58(text);
  if (base58?.length === 64) return base58;
  try {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    return bytes.length === 64 ? bytes : undefined;
  } catch {
    return undefined;
  }
}

export interface VerifyInput {
  message: string;
  signature: string;
  purpose: SiwsPurpose;
  accountId: string | null;
  origin: string;
  now: number;
  /** Runs on a valid signature before the nonce is used: what it throws refuses and uses nothing. */
  beforeUse?: (address: string) => Promise<void>;
}

/**
 * Checks a signed message: issued here (the stored text, byte for byte), for this domain, not
 * expired, not used, for this purpose (and account), and signed by the address it names. Any
 * failure is a 401 and changes nothing; success uses the nonce up and returns the address.
 */
export async function verifySignedMessage(db: DrizzleD1Database, input: VerifyInput): Promise<string> {
  const domain = new URL(input.origin).host;
  if (siwsDomainOf(input.message) !== domain) {
    throw refused("siws_wrong_domain", `the message is not for ${domain}`);
  }
  const nonce = /\nNonce: (\S+)\n/.exec(input.message)?.[1];
  const row = nonce ? await db.select().from(siwsNonces).where(eq(siwsNonces.nonce, nonce)).get() : undefined;
  if (!row || row.message !== input.message || row.purpose !== input.purpose) {
    throw refused(
      "siws_unknown_message",
      "this message was not issued here, was altered, or was already used",
    );
  }
  if (row.expiresAt <= input.now)
    throw refused("siws_expired", "the sign-in message expired; ask for a new one");
  if (input.purpose === "payout" && row.accountId !== input.accountId) {
    throw refused("siws_unknown_message", "this message was issued to another account");
  }
  const signature = decodeSignature(input.signature);
  const publicKey = decodeBase58(row.address);
  let valid = false;
  if (signature && publicKey?.length === 32) {
    try {
      valid = await ed.verifyAsync(signature, new TextEncoder().encode(input.message), publicKey);
    } catch {
      valid = false;
    }
  }
  if (!valid) throw refused("siws_bad_signature", `the signature is not ${row.address}'s over this message`);
  await input.beforeUse?.(row.address);
  // Single use: of two requests racing with one message, one deletes the row and the other finds none.
  const used = await db
    .delete(siwsNonces)
    .where(and(eq(siwsNonces.nonce, row.nonce)))
    .returning({ nonce: siwsNonces.nonce });
  if (used.length === 0) throw refused("siws_unknown_message", "this message was already used");
  return row.address;
}

export async function signinAccountOf(db: DrizzleD1Database, address: string): Promise<string | undefined> {
  const row = await db
    .select({ accountId: accountWallets.accountId })
    .from(accountWallets)
    .where(and(eq(accountWallets.kind, "signin"), eq(accountWallets.address, address)))
    .get();
  return row?.accountId;
}

/** The key a sign-in answers: its scopes, and for a session key its end. */
export interface SignInKey {
  scopes: KeyScope[];
  /** Milliseconds since the epoch; null for an API key that lasts until revoked. */
  expiresAt: number | null;
}

export interface SignedIn {
  accountId: string;
  apiKey: string;
  keyId: string;
  scopes: KeyScope[];
  expiresAt: string | null;
  created: boolean;
}

/** Signs in to the account linked to the wallet, creating it (with the sign-up credit) on first use. */
export async function signInWithWallet(
  db: DrizzleD1Database,
  env: object,
  address: string,
  now: number,
  /** A referral for the account if this sign-in creates it (the caller checked it). */
  referral: { code: string; referrerAccountId: string } | null = null,
  wanted: SignInKey = { scopes: ["full"], expiresAt: null },
): Promise<SignedIn> {
  const key = await issueApiKey(newId("key", now));
  const row = (accountId: string) => ({
    id: key.keyId,
    accountId,
    secretHash: key.secretHash,
    scopes: JSON.stringify(wanted.scopes),
    createdAt: now,
    expiresAt: wanted.expiresAt,
  });
  const answer = (accountId: string, created: boolean): SignedIn => ({
    accountId,
    apiKey: key.apiKey,
    keyId: key.keyId,
    scopes: wanted.scopes,
    expiresAt: wanted.expiresAt === null ? null : new Date(wanted.expiresAt).toISOString(),
    created,
  });
  const existing = await signinAccountOf(db, address);
  if (existing) {
    await db.insert(apiKeys).values(row(existing));
    return answer(existing, false);
  }
  const accountId = newId("acct", now);
  try {
    await db.batch([
      db.insert(accounts).values({ id: accountId, name: null, email: null, createdAt: now }),
      db.insert(accountWallets).values({ accountId, kind: "signin", address, createdAt: now }),
      db.insert(apiKeys).values(row(accountId)),
      ...signupCreditStatements(db, env, accountId, now),
      ...(referral
        ? [
            referralStatement(
              db,
              { ...referral, referredAccountId: accountId, config: referralConfig(env) },
              now,
            ),
          ]
        : []),
    ]);
    return answer(accountId, true);
  } catch (error) {
    // Another first sign-in of the same wallet won the unique index: sign in to that account.
    const winner = await signinAccountOf(db, address);
    if (!winner) throw error;
    await db.insert(apiKeys).values(row(winner));
    return answer(winner, false);
  }
}

/** Links (or relinks) the account's payout wallet. */
export async function linkPayoutWallet(
  db: DrizzleD1Database,
  accountId: string,
  address: string,
  now: number,
): Promise<void> {
  await db
    .insert(accountWallets)
    .values({ accountId, kind: "payout", address, createdAt: now })
    .onConflictDoUpdate({
      target: [accountWallets.accountId, accountWallets.kind],
      set: { address, createdAt: now },
    });
}

export async function payoutWalletOf(
  db: DrizzleD1Database,
  accountId: string,
): Promise<{ address: string; createdAt: number } | undefined> {
  return db
    .select({ address: accountWallets.address, createdAt: accountWallets.createdAt })
    .from(accountWallets)
    .where(and(eq(accountWallets.accountId, accountId), eq(accountWallets.kind, "payout")))
    .get();
}
