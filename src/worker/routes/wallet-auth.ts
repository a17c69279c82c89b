import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { clusterOf } from "../../chain/chain-config.js";
import { SiwsChallengeRequest, SiwsVerifyRequest } from "../../shared/chain-api.js";
import { chainBody } from "../chain-body.js";
import type { AppEnv } from "../hono-env.js";
import { issueChallenge, signInWithWallet, verifySignedMessage } from "../wallet-sign-in.js";

/**
 * Sign In With Solana: ask for a message for an address, sign it with the wallet, send it back; the
 * account linked to the wallet (created on first sign-in) gets a new API key.
 */
export const walletAuthRoutes = new Hono<AppEnv>()
  .post("/challenge", async (c) => {
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
  })
  .post("/verify", async (c) => {
    const body = await chainBody(c, SiwsVerifyRequest);
    const db = drizzle(c.env.DB);
    const now = Date.now();
    const address = await verifySignedMessage(db, {
      message: body.message,
      signature: body.signature,
      purpose: "signin",
      accountId: null,
      origin: new URL(c.req.url).origin,
      now,
    });
    const signedIn = await signInWithWallet(db, c.env, address, now);
    return c.json({ ...signedIn, address }, signedIn.created ? 201 : 200);
  });
