import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { clusterOf } from "../../chain/chain-config.js";
import { referrerOf } from "../../ledger/referral-codes.js";
import { SESSION_KEY_DEFAULT_SECONDS } from "../../shared/api-key-scopes.js";
import {
  SiwsChallenge,
  SiwsChallengeRequest,
  SiwsSignedIn,
  SiwsVerifyRequest,
} from "../../shared/chain-api.js";
import { MeridianError } from "../../shared/errors.js";
import { chainBody } from "../chain-body.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";
import {
  SAMPLE_SIGNED_IN,
  SAMPLE_SIWS_CHALLENGE,
  SAMPLE_SIWS_VERIFY,
  SAMPLE_WALLET,
} from "../openapi/sample-chain.js";
import { issueChallenge, signInWithWallet, signinAccountOf, verifySignedMessage } from "../wallet-sign-in.js";

/** A referral code only counts for a new account: its own code 400, another's 409. */
function refuseReferralOfExisting(
  existing: string | undefined,
  referral: { referrerAccountId: string },
): void {
  if (existing === undefined) return;
  if (existing === referral.referrerAccountId) {
    throw new MeridianError(400, "self_referral", "an account cannot use its own referral code");
  }
  throw new MeridianError(
    409,
    "referral_needs_new_account",
    "this wallet has an account already; a referral code counts only when an account is created",
  );
}

/**
 * Sign In With Solana: ask for a message for an address, sign it with the wallet, send it back; the
 * account linked to the wallet (created on first sign-in) gets a new API key, or a session key that
 * expires.
 */
export const walletAuthRoutes = new Hono<AppEnv>()
  .post(
    "/challenge",
    doc({
      id: "walletChallenge",
      tag: "Auth",
      summary: "A Sign In With Solana message to sign",
      description:
        "The message (and its fields) for this address, with a single-use nonce that expires in minutes. Sign its UTF-8 bytes with the wallet (`signMessage`) and send both to `/v1/auth/wallet/verify`.",
      auth: "none",
      body: SiwsChallengeRequest,
      bodyExample: { address: SAMPLE_WALLET },
      response: { status: 201, schema: SiwsChallenge, example: SAMPLE_SIWS_CHALLENGE },
    }),
    async (c) => {
      const body = await chainBody(c, SiwsChallengeRequest);
      const challenge = await issueChallenge(drizzle(c.env.DB), {
        address: body.address,
        purpose: "signin",
        accountId: null,
        origin: new URL(c.req.url).origin,
        cluster: clusterOf(c.env),
        now: Date.now(),
      });
      return c.json(challenge, 201);
    },
  )
  .post(
    "/verify",
    doc({
      id: "walletVerify",
      tag: "Auth",
      summary: "Sign in with a signed message",
      description:
        "Checks the ed25519 signature (base58 or base64) over the issued message and spends its nonce; answers a new key for the wallet's account, created on first sign-in (201). `key: \"session\"` makes it a session key that expires after `expiresInSeconds` (60 to 86,400; default 3,600): from then on a 401 `key_expired`; it is not refreshed (sign in again) and can be revoked (DELETE /v1/account/keys/:id) like any key. Without it, an API key that lasts until revoked. `scopes` as for POST /v1/account/keys (default `full`). A `referralCode` counts only for that first sign-in: unknown 400 `unknown_referral_code`, the wallet's own account's code 400 `self_referral`, another's for an existing account 409 `referral_needs_new_account`; each refusal leaves the message unused.",
      auth: "none",
      body: SiwsVerifyRequest,
      bodyExample: SAMPLE_SIWS_VERIFY,
      response: {
        schema: SiwsSignedIn,
        example: SAMPLE_SIGNED_IN,
        description: "Signed in to the wallet's account",
        alsoStatus: { status: 201, description: "Signed in to a new account created for the wallet" },
      },
      errors: [400, 401, 409],
    }),
    async (c) => {
      const body = await chainBody(c, SiwsVerifyRequest);
      const db = drizzle(c.env.DB);
      const now = Date.now();
      // An unknown code is refused before the message is looked at; a code for a wallet that has
      // an account already, once the signature is checked and before its nonce is used.
      const referral = body.referralCode
        ? { code: body.referralCode, referrerAccountId: await referrerOf(db, body.referralCode) }
        : null;
      const address = await verifySignedMessage(db, {
        message: body.message,
        signature: body.signature,
        purpose: "signin",
        accountId: null,
        origin: new URL(c.req.url).origin,
        now,
        beforeUse: referral
          ? async (signer) => refuseReferralOfExisting(await signinAccountOf(db, signer), referral)
          : undefined,
      });
      const scopes = [...new Set(body.scopes ?? ["full"])];
      const expiresAt =
        body.key === "session" ? now + (body.expiresInSeconds ?? SESSION_KEY_DEFAULT_SECONDS) * 1000 : null;
      const signedIn = await signInWithWallet(db, c.env, address, now, referral, { scopes, expiresAt });
      return c.json({ ...signedIn, address }, signedIn.created ? 201 : 200);
    },
  );
