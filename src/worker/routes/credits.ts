import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { grantCredit } from "../../ledger/credits.js";
import { CreditRequest, CreditView } from "../../shared/ledger-api.js";
import { formatUsd } from "../../shared/money.js";
import { auditStatement } from "../audit-log.js";
import type { AppEnv } from "../hono-env.js";
import { idempotencyKeyOf } from "../idempotency-key.js";
import { jsonBody } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";
import { SAMPLE_IDS } from "../openapi/sample-bodies.js";
import { requireOperator } from "../operator-auth.js";
import { callerAddress } from "../rate-limits.js";

/**
 * POST /v1/credits (operator only): grants credit to an account from the credits issuer. Honours
 * `Idempotency-Key`: a retry answers the first result with `Idempotent-Replayed: true`.
 */
export const creditRoutes = new Hono<AppEnv>().post(
  "/",
  doc({
    id: "grantCredit",
    tag: "Operator",
    summary: "Grant credit to an account",
    description:
      "Honours `Idempotency-Key`: a retry answers the first result with `Idempotent-Replayed: true`.",
    auth: "operator",
    body: CreditRequest,
    bodyExample: { accountId: SAMPLE_IDS.account, amount: "25.00", memo: "workshop credit" },
    response: { status: 201, schema: CreditView },
  }),
  requireOperator,
  async (c) => {
    const key = idempotencyKeyOf(c, "operator:credits");
    const body = await jsonBody(c, CreditRequest);
    const { transfer, replayed } = await grantCredit(drizzle(c.env.DB), {
      accountId: body.accountId,
      amountMicros: body.amount,
      memo: body.memo ?? null,
      idempotencyKey: key,
    });
    if (replayed) c.header("Idempotent-Replayed", "true");
    else {
      await auditStatement(drizzle(c.env.DB), {
        accountId: body.accountId,
        action: "credit.granted",
        subject: transfer.id,
        address: callerAddress(c.req),
        details: { amountMicros: transfer.amountMicros, memo: transfer.memo, by: "operator" },
      });
    }
    const view: CreditView = {
      transferId: transfer.id,
      accountId: body.accountId,
      amount: formatUsd(transfer.amountMicros),
      amountMicros: transfer.amountMicros,
      memo: transfer.memo,
      createdAt: new Date(transfer.createdAt).toISOString(),
    };
    return c.json(view, 201);
  },
);
