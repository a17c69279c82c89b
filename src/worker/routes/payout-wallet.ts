import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { clusterOf } from "../../chain/chain-config.js";
import { SiwsChallengeRequest, SiwsVerifyRequest } from "../../shared/chain-api.js";
import { MeridianError } from "../../shared/errors.js";
import { chainBody } from "../chain-body.js";
import type { AppEnv } from "../hono-env.js";
import { issueChallenge, linkPayoutWallet, payoutWalletOf, verifySignedMessage } from "../wallet-sign-in.js";

/** A provider's payout wallet, linked with the same signed-message proof as a sign-in. */
export const payoutWalletRoutes = new Hono<AppEnv>()
  .post("/challenge", async (c) => {
    const body = await chainBody(c, SiwsChallengeRequest);
    const challenge = await issueChallenge(drizzle(c.env.DB), {
      address: body.address,
      purpose: "payout",
      accountId: c.get("accountId"),
      origin: new URL(c.req.url).origin,
      cluster: clusterOf(c.env),
      now: Date.now(),
    });
    return c.json(challenge, 201);
  })
  .put("/", async (c) => {
    const body = await chainBody(c, SiwsVerifyRequest);
    const db = drizzle(c.env.DB);
    const now = Date.now();
    const accountId = c.get("accountId");
    const address = await verifySignedMessage(db, {
      message: body.message,
      signature: body.signature,
      purpose: "payout",
      accountId,
      origin: new URL(c.req.url).origin,
      now,
    });
    await linkPayoutWallet(db, accountId, address, now);
    return c.json({ accountId, address, linkedAt: new Date(now).toISOString() });
  })
  .get("/", async (c) => {
    const accountId = c.get("accountId");
    const wallet = await payoutWalletOf(drizzle(c.env.DB), accountId);
    if (!wallet)
      throw new MeridianError(
        404,
        "no_payout_wallet",
        "no payout wallet is linked; link one with a signed message",
      );
    return c.json({ accountId, address: wallet.address, linkedAt: new Date(wallet.createdAt).toISOString() });
  });
