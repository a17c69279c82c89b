import { drizzle } from "drizzle-orm/d1";
import { Hono } from "hono";
import { chainConfig } from "../../chain/chain-config.js";
import { receiptFor } from "../../chain/receipts/receipt-lookup.js";
import { MeridianError } from "../../shared/errors.js";
import { ReceiptIdParam, ReceiptView } from "../../shared/receipts/receipt-view.js";
import type { AppEnv } from "../hono-env.js";
import { parseOrThrow } from "../json-body.js";
import { doc } from "../openapi/route-doc.js";

/**
 * GET /v1/receipts/:id (an attempt id or a payout id): the signed receipt, its Merkle proof and the
 * transaction that anchored its batch's root, for the account it charged or paid and for the owner
 * of the node that ran the attempt. `meridian receipts verify` checks all of it.
 */
export const receiptRoutes = new Hono<AppEnv>().get(
  "/:id",
  doc({
    id: "getReceipt",
    tag: "Billing",
    summary: "A receipt with its proof",
    description:
      "The control plane's signed receipt of a settled attempt or a paid payout, its Merkle proof, and the memo transaction that put the batch's root on chain (status signed → batched → anchored). A charge carries the agent's signed usage statement and the region's countersignature on it (its key is published at GET /v1/regions/:id).",
    response: { schema: ReceiptView },
    errors: [404],
  }),
  async (c) => {
    const { id } = parseOrThrow(ReceiptIdParam, { id: c.req.param("id") }, "the receipt id");
    const view = await receiptFor(drizzle(c.env.DB), id, c.get("accountId"), chainConfig(c.env).cluster);
    if (!view) throw new MeridianError(404, "receipt_not_found", `no receipt for ${id} (yet)`);
    return c.json(view);
  },
);
