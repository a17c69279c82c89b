import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { ledgerEntries } from "../../ledger/ledger-entries.js";
import { ledgerEntryView } from "../../ledger/ledger-entry-view.js";
import { LedgerPage, LedgerQuery } from "../../shared/ledger-api.js";
import type { AppEnv } from "../hono-env.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_IDS } from "../openapi/sample-bodies.js";

/** GET /v1/ledger?cursor&limit: the caller's ledger entries, newest first. */
export const ledgerRoutes = new Hono<AppEnv>().get(
  "/",
  doc({
    id: "listLedger",
    tag: "Billing",
    summary: "Ledger entries",
    description: "The caller's double-entry ledger entries, newest first.",
    query: LedgerQuery,
    response: {
      schema: LedgerPage,
      example: {
        entries: [
          {
            id: SAMPLE_IDS.transfer,
            kind: "signup_credit",
            from: "issuer:credits",
            to: `account:${SAMPLE_IDS.account}:available`,
            amount: "10.00",
            amountMicros: 10000000,
            balanceEffect: "10.00",
            balanceEffectMicros: 10000000,
            jobId: null,
            attemptId: null,
            memo: null,
            createdAt: "2026-12-01T08:00:00.000Z",
          },
        ],
        nextCursor: null,
      },
    },
  }),
  async (c) => {
    const query = queryOf(c, LedgerQuery);
    const accountId = c.get("accountId");
    const page = await ledgerEntries(drizzle(c.env.DB), accountId, query);
    const body: LedgerPage = {
      entries: page.rows.map((row) => ledgerEntryView(row, accountId)),
      nextCursor: page.nextCursor,
    };
    return c.json(body);
  },
);
