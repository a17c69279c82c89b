import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { balanceOf } from "../../ledger/balance.js";
import type { BalanceView } from "../../shared/ledger-api.js";
import { formatUsd } from "../../shared/money.js";
import type { AppEnv } from "../hono-env.js";

/** GET /v1/balance: what the caller can spend now and what its jobs hold. */
export const balanceRoutes = new Hono<AppEnv>().get("/", async (c) => {
  const accountId = c.get("accountId");
  const { availableMicros, heldMicros } = await balanceOf(drizzle(c.env.DB), accountId);
  const totalMicros = availableMicros + heldMicros;
  const view: BalanceView = {
    accountId,
    currency: "USD",
    available: formatUsd(availableMicros),
    availableMicros,
    held: formatUsd(heldMicros),
    heldMicros,
    total: formatUsd(totalMicros),
    totalMicros,
  };
  return c.json(view);
});
