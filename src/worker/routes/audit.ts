import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { AuditQuery } from "../../shared/audit.js";
import { auditPage } from "../audit-log.js";
import type { AppEnv } from "../hono-env.js";
import { queryOf } from "../json-body.js";

/** GET /v1/account/audit?limit&cursor: what was done to the account's keys and money, newest first. */
export const auditRoutes = new Hono<AppEnv>().get("/", async (c) => {
  const query = queryOf(c, AuditQuery);
  return c.json(await auditPage(drizzle(c.env.DB), c.get("accountId"), query.limit, query.cursor));
});
