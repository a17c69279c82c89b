import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { accountEventsPage } from "../../ledger/account-events.js";
import { AccountEventsPage, AccountEventsQuery } from "../../shared/ledger-api.js";
import type { AppEnv } from "../hono-env.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";

/** GET /v1/account/events?limit&cursor: the caller's account events (e.g. the 80% cap warning), newest first. */
export const accountEventRoutes = new Hono<AppEnv>().get(
  "/",
  doc({
    id: "listAccountEvents",
    tag: "Billing",
    summary: "Account events",
    description: "Notices about the account (such as reaching 80% of the monthly cap), newest first.",
    query: AccountEventsQuery,
    response: { schema: AccountEventsPage },
  }),
  async (c) => {
    const query = queryOf(c, AccountEventsQuery);
    const page = await accountEventsPage(drizzle(c.env.DB), c.get("accountId"), query);
    const body: AccountEventsPage = {
      events: page.rows.map((row) => ({
        id: row.id,
        kind: row.kind,
        period: row.period,
        details: row.details,
        createdAt: new Date(row.createdAt).toISOString(),
      })),
      nextCursor: page.nextCursor,
    };
    return c.json(body);
  },
);
