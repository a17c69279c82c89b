import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { ledgerEntries } from "../../ledger/ledger-entries.js";
import { ledgerEntryView } from "../../ledger/ledger-entry-view.js";
import { type LedgerPage, LedgerQuery } from "../../shared/ledger-api.js";
import type { AppEnv } from "../hono-env.js";
import { queryOf } from "../json-body.js";

/** GET /v1/ledger?cursor&limit: the caller's ledger entries, newest first. */
export const ledgerRoutes = new Hono<AppEnv>().get("/", async (c) => {
  const query = queryOf(c, LedgerQuery);
  const accountId = c.get("accountId");
  const page = await ledgerEntries(drizzle(c.env.DB), accountId, query);
  const body: LedgerPage = {
    entries: page.rows.map((row) => ledgerEntryView(row, accountId)),
    nextCursor: page.nextCursor,
  };
  return c.json(body);
});
