import { Hono } from "hono";
import type { ReceiptObject } from "../../durable/receipt-object.js";
import { ReceiptRunView } from "../../shared/receipts/receipt-view.js";
import type { AppEnv } from "../hono-env.js";
import { doc } from "../openapi/route-doc.js";
import { requireOperator } from "../operator-auth.js";

/** The one receipts object (src/durable/receipt-object.ts). */
export function receiptsStub(env: Env): DurableObjectStub<ReceiptObject> {
  return env.RECEIPTS.get(env.RECEIPTS.idFromName("receipts"));
}

/**
 * POST /v1/operator/receipts/run: sign receipts for what settled, batch everything waiting now
 * (not after RECEIPT_BATCH_INTERVAL_MS) and anchor the roots; the cron does the same on schedule.
 */
export const operatorReceiptRoutes = new Hono<AppEnv>().post(
  "/run",
  doc({
    id: "runReceipts",
    tag: "Operator",
    summary: "Issue and anchor receipts now",
    description:
      "Signs a receipt for each new settlement and paid payout, cuts the waiting ones into a Merkle batch at once, and writes each batch's root on chain in a memo transaction.",
    auth: "operator",
    response: { schema: ReceiptRunView },
  }),
  requireOperator,
  async (c) => {
    const record = await receiptsStub(c.env).run({ cutNow: true });
    return c.json({ ...record, at: new Date(record.at).toISOString() });
  },
);
