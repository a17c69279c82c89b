import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { CreateTopupRequest } from "../../shared/chain-api.js";
import { chainBody } from "../chain-body.js";
import type { AppEnv } from "../hono-env.js";
import { createTopup, refreshTopup, topupOf, topupQr, topupView } from "../topups.js";

/**
 * Top-ups paid on Solana: a Solana Pay transfer request (URL and QR code) with a fresh reference;
 * reading a top-up looks for its payment on chain and credits the account once it is final.
 */
export const topupRoutes = new Hono<AppEnv>()
  .post("/", async (c) => {
    const body = await chainBody(c, CreateTopupRequest);
    const row = await createTopup(drizzle(c.env.DB), c.env, c.get("accountId"), body, Date.now());
    return c.json({ ...topupView(row), qrSvg: topupQr(row) }, 201);
  })
  .get("/:id", async (c) => {
    const db = drizzle(c.env.DB);
    const row = await topupOf(db, c.get("accountId"), c.req.param("id"));
    return c.json(topupView(await refreshTopup(db, c.env, row, Date.now())));
  })
  .get("/:id/qr.svg", async (c) => {
    const row = await topupOf(drizzle(c.env.DB), c.get("accountId"), c.req.param("id"));
    return c.body(topupQr(row), 200, { "content-type": "image/svg+xml" });
  });
