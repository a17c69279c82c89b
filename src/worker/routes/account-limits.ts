import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { type AccountLimits, limitsOf, setLimits } from "../../ledger/account-limits.js";
import { accountSpend } from "../../ledger/account-spend.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import { AccountLimitsRequest, AccountLimitsView } from "../../shared/ledger-api.js";
import { formatUsd } from "../../shared/money.js";
import { auditStatement } from "../audit-log.js";
import type { AppEnv } from "../hono-env.js";
import { jsonBody } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { callerAddress } from "../rate-limits.js";

async function view(db: LedgerDb, accountId: string, limits: AccountLimits): Promise<AccountLimitsView> {
  const spend = await accountSpend(db, accountId);
  const usd = (micros: number | null) => (micros === null ? null : formatUsd(micros));
  return {
    accountId,
    currency: "USD",
    monthlyCap: usd(limits.monthlyCapMicros),
    monthlyCapMicros: limits.monthlyCapMicros,
    maxSpendPerHour: usd(limits.maxSpendPerHourMicros),
    maxSpendPerHourMicros: limits.maxSpendPerHourMicros,
    spentThisMonth: formatUsd(spend.spentThisMonthMicros),
    spentThisMonthMicros: spend.spentThisMonthMicros,
    held: formatUsd(spend.heldMicros),
    heldMicros: spend.heldMicros,
    activeSpendPerHour: formatUsd(spend.spendPerHourMicros),
    activeSpendPerHourMicros: spend.spendPerHourMicros,
  };
}

/**
 * GET and PUT /v1/account/limits: the caller's monthly cap and max concurrent spend per hour, and
 * what they are measured against now. PUT is idempotent by nature and moves no money.
 */
export const accountLimitRoutes = new Hono<AppEnv>()
  .get(
    "/",
    doc({
      id: "getLimits",
      tag: "Billing",
      summary: "Spending limits",
      description:
        "The monthly cap and the max concurrent spend per hour, with what they are measured against now.",
      response: { schema: AccountLimitsView },
    }),
    async (c) => {
      const db = drizzle(c.env.DB);
      const accountId = c.get("accountId");
      return c.json(await view(db, accountId, await limitsOf(db, accountId)));
    },
  )
  .put(
    "/",
    doc({
      id: "setLimits",
      tag: "Billing",
      summary: "Set spending limits",
      description: "A field left out keeps its value; null removes a limit.",
      body: AccountLimitsRequest,
      bodyExample: { monthlyCap: "100.00", maxSpendPerHour: null },
      response: { schema: AccountLimitsView },
    }),
    async (c) => {
      const body = await jsonBody(c, AccountLimitsRequest);
      const db = drizzle(c.env.DB);
      const accountId = c.get("accountId");
      const limits = await setLimits(db, accountId, {
        ...(body.monthlyCap === undefined ? {} : { monthlyCapMicros: body.monthlyCap }),
        ...(body.maxSpendPerHour === undefined ? {} : { maxSpendPerHourMicros: body.maxSpendPerHour }),
      });
      // After the change (setLimits batches its own writes): a record of a limit that did not change
      // is worse than one written a moment late.
      await auditStatement(db, {
        accountId,
        action: "limits.updated",
        keyId: c.get("keyId"),
        address: callerAddress(c.req),
        details: {
          monthlyCapMicros: limits.monthlyCapMicros,
          maxSpendPerHourMicros: limits.maxSpendPerHourMicros,
        },
      });
      return c.json(await view(db, accountId, limits));
    },
  );
