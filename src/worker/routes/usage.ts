import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { usageReport } from "../../ledger/usage.js";
import { usageCsv } from "../../ledger/usage-csv.js";
import { UsageQuery, UsageView } from "../../shared/ledger-api.js";
import { formatUsd } from "../../shared/money.js";
import type { AppEnv } from "../hono-env.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";

/** GET /v1/usage?from&to&groupBy=job|day|gpuModel[&format=csv]: charges over at most 366 days. */
export const usageRoutes = new Hono<AppEnv>().get(
  "/",
  doc({
    id: "getUsage",
    tag: "Billing",
    summary: "Usage report",
    description:
      "Charges between `from` and `to` (required; a date like 2026-12-01 or an ISO-8601 time; at most 366 days), grouped by job, day or GPU model. `format=csv` answers text/csv.",
    query: UsageQuery,
    response: {
      schema: UsageView,
      description: "The report (or, with format=csv, the same rows as text/csv)",
      example: {
        from: "2026-12-01T00:00:00.000Z",
        to: "2026-12-02T00:00:00.000Z",
        groupBy: "day",
        currency: "USD",
        rows: [
          { key: "2026-12-01", attempts: 3, billableSeconds: 95, charged: "0.05", chargedMicros: 52777 },
        ],
        total: "0.05",
        totalMicros: 52777,
      },
    },
  }),
  async (c) => {
    const query = queryOf(c, UsageQuery);
    const rows = await usageReport(drizzle(c.env.DB), c.get("accountId"), query);
    if (query.format === "csv") {
      c.header("content-disposition", 'attachment; filename="meridian-usage.csv"');
      return c.body(usageCsv(query.groupBy, rows), 200, { "content-type": "text/csv; charset=utf-8" });
    }
    const totalMicros = rows.reduce((sum, row) => sum + row.chargedMicros, 0);
    const view: UsageView = {
      from: new Date(query.from).toISOString(),
      to: new Date(query.to).toISOString(),
      groupBy: query.groupBy,
      currency: "USD",
      rows: rows.map((row) => ({
        key: row.key,
        attempts: row.attempts,
        billableSeconds: row.billableSeconds,
        charged: formatUsd(row.chargedMicros),
        chargedMicros: row.chargedMicros,
      })),
      total: formatUsd(totalMicros),
      totalMicros,
    };
    return c.json(view);
  },
);
