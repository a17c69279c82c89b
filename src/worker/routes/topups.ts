import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { CreateTopupRequest, TopupCreated, TopupView } from "../../shared/chain-api.js";
import { chainBody } from "../chain-body.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_TOPUP } from "../openapi/sample-chain.js";
import { callerAddress } from "../rate-limits.js";
import { createTopup, refreshTopup, topupOf, topupQr, topupView } from "../topups.js";

/**
 * Top-ups paid on Solana: a Solana Pay transfer request (URL and QR code) with a fresh reference;
 * reading a top-up looks for its payment on chain and credits the account once it is final.
 */
export const topupRoutes = new Hono<AppEnv>()
  .post(
    "/",
    doc({
      id: "createTopup",
      tag: "Billing",
      summary: "Start a top-up paid on Solana",
      description:
        "A Solana Pay transfer request (`url`, and `qrSvg` to scan) with a fresh reference key, paid in USDC or MRD to the treasury. Read the top-up to follow it: it is credited once, when the payment is finalized.",
      body: CreateTopupRequest,
      bodyExample: { token: "usdc", amount: "25" },
      response: {
        status: 201,
        schema: TopupCreated,
        example: {
          ...SAMPLE_TOPUP,
          qrSvg: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 41 41"></svg>',
        },
      },
      errors: [422],
    }),
    async (c) => {
      const body = await chainBody(c, CreateTopupRequest);
      const row = await createTopup(drizzle(c.env.DB), c.env, c.get("accountId"), body, Date.now(), {
        keyId: c.get("keyId"),
        address: callerAddress(c.req),
      });
      return c.json({ ...topupView(row), qrSvg: topupQr(row) }, 201);
    },
  )
  .get(
    "/:id",
    doc({
      id: "getTopup",
      tag: "Billing",
      summary: "A top-up's state",
      description:
        "Looks for the payment on chain by its reference: `pending` → `confirmed` → `credited` (or `underpaid`, `wrong_mint`, `failed`, with a `note`).",
      response: {
        schema: TopupView,
        example: {
          ...SAMPLE_TOPUP,
          status: "credited",
          signature:
            "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW",
          paid: "25",
        },
      },
    }),
    async (c) => {
      const db = drizzle(c.env.DB);
      const row = await topupOf(db, c.get("accountId"), c.req.param("id"));
      return c.json(topupView(await refreshTopup(db, c.env, row, Date.now())));
    },
  )
  .get(
    "/:id/qr.svg",
    doc({
      id: "getTopupQr",
      tag: "Billing",
      summary: "A top-up's Solana Pay QR code",
      response: { contentType: "image/svg+xml", description: "The transfer request's URL as an SVG QR code" },
    }),
    async (c) => {
      const row = await topupOf(drizzle(c.env.DB), c.get("accountId"), c.req.param("id"));
      return c.body(topupQr(row), 200, { "content-type": "image/svg+xml" });
    },
  );
