import { and, desc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { type PayoutRow, payouts } from "../../../schema/payouts.js";
import { formatUsd } from "../../shared/money.js";
import { PayoutList, PayoutListQuery, type PayoutView } from "../../shared/payout-api.js";
import type { AppEnv } from "../hono-env.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";

function payoutView(row: PayoutRow): PayoutView {
  return {
    id: row.id,
    nodeId: row.nodeId,
    wallet: row.wallet,
    amount: formatUsd(row.amountMicros),
    amountMicros: row.amountMicros,
    token: "usdc",
    status: row.status,
    signature: row.signature,
    note: row.note,
    claimedAt: new Date(row.claimedAt).toISOString(),
    paidAt: row.paidAt === null ? null : new Date(row.paidAt).toISOString(),
  };
}

/** GET /v1/provider/payouts: the caller's payouts, newest first, with their on-chain signatures. */
export const payoutRoutes = new Hono<AppEnv>().get(
  "/",
  doc({
    id: "listPayouts",
    tag: "Provider",
    summary: "Payouts of my nodes' earnings",
    description:
      "Each payout pays one node's settled earnings to the account's payout wallet as a USDC transfer from the treasury; `paid` means confirmed on chain, with the transaction's signature.",
    query: PayoutListQuery,
    response: { schema: PayoutList },
  }),
  async (c) => {
    const query = queryOf(c, PayoutListQuery);
    const accountId = c.get("accountId");
    const rows = await drizzle(c.env.DB)
      .select()
      .from(payouts)
      .where(
        query.status
          ? and(eq(payouts.accountId, accountId), eq(payouts.status, query.status))
          : eq(payouts.accountId, accountId),
      )
      .orderBy(desc(payouts.claimedAt), desc(payouts.id))
      .limit(query.limit)
      .all();
    return c.json({ payouts: rows.map(payoutView) });
  },
);
