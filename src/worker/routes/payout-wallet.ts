import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { clusterOf } from "../../chain/chain-config.js";
import {
  PayoutWallet,
  SiwsChallenge,
  SiwsChallengeRequest,
  SiwsVerifyRequest,
} from "../../shared/chain-api.js";
import { MeridianError } from "../../shared/errors.js";
import { auditStatement } from "../audit-log.js";
import { chainBody } from "../chain-body.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";
import {
  SAMPLE_PAYOUT_WALLET,
  SAMPLE_SIWS_CHALLENGE,
  SAMPLE_SIWS_VERIFY,
  SAMPLE_WALLET,
} from "../openapi/sample-chain.js";
import { callerAddress } from "../rate-limits.js";
import { issueChallenge, linkPayoutWallet, payoutWalletOf, verifySignedMessage } from "../wallet-sign-in.js";

/** A provider's payout wallet, linked with the same signed-message proof as a sign-in. */
export const payoutWalletRoutes = new Hono<AppEnv>()
  .post(
    "/challenge",
    doc({
      id: "payoutWalletChallenge",
      tag: "Provider",
      summary: "A message to sign to link a payout wallet",
      body: SiwsChallengeRequest,
      bodyExample: { address: SAMPLE_WALLET },
      response: { status: 201, schema: SiwsChallenge, example: SAMPLE_SIWS_CHALLENGE },
    }),
    async (c) => {
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
    },
  )
  .put(
    "/",
    doc({
      id: "linkPayoutWallet",
      tag: "Provider",
      summary: "Link the payout wallet with its signed message",
      description: "Earnings are paid to this address; a later link replaces it.",
      body: SiwsVerifyRequest,
      bodyExample: SAMPLE_SIWS_VERIFY,
      response: { schema: PayoutWallet, example: SAMPLE_PAYOUT_WALLET },
      errors: [401],
    }),
    async (c) => {
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
      // Where the money goes is a money action: it is recorded with the key and address that did it
      // (after the link, as limits.updated is: a record of a link that did not happen is worse).
      await auditStatement(db, {
        accountId,
        action: "payout_wallet.linked",
        subject: address,
        keyId: c.get("keyId"),
        address: callerAddress(c.req),
        now,
      });
      return c.json({ accountId, address, linkedAt: new Date(now).toISOString() });
    },
  )
  .get(
    "/",
    doc({
      id: "getPayoutWallet",
      tag: "Provider",
      summary: "The linked payout wallet",
      response: { schema: PayoutWallet, example: SAMPLE_PAYOUT_WALLET },
      errors: [404],
    }),
    async (c) => {
      const accountId = c.get("accountId");
      const wallet = await payoutWalletOf(drizzle(c.env.DB), accountId);
      if (!wallet)
        throw new MeridianError(
          404,
          "no_payout_wallet",
          "no payout wallet is linked; link one with a signed message",
        );
      return c.json({
        accountId,
        address: wallet.address,
        linkedAt: new Date(wallet.createdAt).toISOString(),
      });
    },
  );
