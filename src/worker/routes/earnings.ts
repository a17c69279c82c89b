import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { providerEarnings } from "../../ledger/earnings.js";
import { EarningsQuery, EarningsView } from "../../shared/ledger-api.js";
import { formatUsd } from "../../shared/money.js";
import type { AppEnv } from "../hono-env.js";
import { queryOf } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";

/** GET /v1/provider/earnings?from&to: the caller's nodes' earnings, pending vs settled, by day and node. */
export const earningsRoutes = new Hono<AppEnv>().get(
  "/",
  doc({
    id: "getEarnings",
    tag: "Provider",
    summary: "Earnings of my nodes",
    description:
      "Pending and settled per node, and earned per day and node in the range (default: the last 30 days).",
    query: EarningsQuery,
    response: { schema: EarningsView },
  }),
  async (c) => {
    const range = queryOf(c, EarningsQuery);
    const report = await providerEarnings(drizzle(c.env.DB), c.get("accountId"), range);
    const totalMicros = report.days.reduce((sum, day) => sum + day.earnedMicros, 0);
    const view: EarningsView = {
      from: new Date(range.from).toISOString(),
      to: new Date(range.to).toISOString(),
      currency: "USD",
      nodes: report.nodes.map((node) => ({
        nodeId: node.nodeId,
        pending: formatUsd(node.pendingMicros),
        pendingMicros: node.pendingMicros,
        settled: formatUsd(node.settledMicros),
        settledMicros: node.settledMicros,
      })),
      days: report.days.map((day) => ({
        day: day.day,
        nodeId: day.nodeId,
        attempts: day.attempts,
        earned: formatUsd(day.earnedMicros),
        earnedMicros: day.earnedMicros,
      })),
      total: formatUsd(totalMicros),
      totalMicros,
    };
    return c.json(view);
  },
);
