import { Hono } from "hono";
import type { PayoutObject, PayoutRunRecord } from "../../durable/payout-object.js";
import { PayoutRunView } from "../../shared/payout-api.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";
import { requireOperator } from "../operator-auth.js";

/** The one payouts object (src/durable/payout-object.ts). */
export function payoutsStub(env: Env): DurableObjectStub<PayoutObject> {
  return env.PAYOUTS.get(env.PAYOUTS.idFromName("payouts"));
}

function runView(record: PayoutRunRecord): PayoutRunView {
  return { ...record, at: new Date(record.at).toISOString() };
}

/**
 * POST /v1/operator/payouts/run: pay every node with enough settled earnings now, whatever the
 * schedule (the cron trigger runs the same daily or weekly); GET …/last: what the last run did.
 */
export const operatorPayoutRoutes = new Hono<AppEnv>()
  .post(
    "/run",
    doc({
      id: "runPayouts",
      tag: "Operator",
      summary: "Run provider payouts now",
      description:
        "Claims each node's pending earnings at or above PAYOUT_MIN_MICROS, pays them as USDC transfers from the treasury (several per transaction), and moves them to paid once confirmed.",
      auth: "operator",
      response: { schema: PayoutRunView },
    }),
    requireOperator,
    async (c) => c.json(runView(await payoutsStub(c.env).runNow())),
  )
  .get(
    "/last",
    doc({
      id: "lastPayoutRun",
      tag: "Operator",
      summary: "The last payout run",
      auth: "operator",
      response: { schema: PayoutRunView.nullable() },
    }),
    requireOperator,
    async (c) => {
      const record = await payoutsStub(c.env).lastRun();
      return c.json(record ? runView(record) : null);
    },
  );
