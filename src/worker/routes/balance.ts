import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { balanceOf } from "../../ledger/balance.js";
import { BalanceView } from "../../shared/ledger-api.js";
import { formatUsd } from "../../shared/money.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_IDS } from "../openapi/sample-bodies.js";

/** GET /v1/balance: what the caller can spend now and what its jobs hold. */
export const balanceRoutes = new Hono<AppEnv>().get(
  "/",
  doc({
    id: "getBalance",
    tag: "Billing",
    summary: "Balance",
    description: "What the caller can spend now (available) and what its jobs hold.",
    response: {
      schema: BalanceView,
      example: {
        accountId: SAMPLE_IDS.account,
        currency: "USD",
        available: "9.50",
        availableMicros: 9500000,
        held: "0.50",
        heldMicros: 500000,
        total: "10.00",
        totalMicros: 10000000,
      },
    },
  }),
  async (c) => {
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
  },
);
