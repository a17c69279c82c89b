import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { z } from "zod";
import { AuditEventView, AuditQuery } from "../../shared/audit.js";
import { auditPage } from "../audit-log.js";
import type { AppEnv } from "../hono-env.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_AUDIT_PAGE } from "../openapi/sample-account.js";

const AuditPage = z.object({ events: z.array(AuditEventView), nextCursor: z.string().nullable() });

/** GET /v1/account/audit?limit&cursor: what was done to the account's keys and money, newest first. */
export const auditRoutes = new Hono<AppEnv>().get(
  "/",
  doc({
    id: "listAuditEvents",
    tag: "Account",
    summary: "The account's audit log",
    description: "Key creations and revocations, limit changes and credit grants, newest first.",
    query: AuditQuery,
    response: { schema: AuditPage, example: SAMPLE_AUDIT_PAGE },
  }),
  async (c) => {
    const query = queryOf(c, AuditQuery);
    return c.json(await auditPage(drizzle(c.env.DB), c.get("accountId"), query.limit, query.cursor));
  },
);
