import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { describe, expect, it } from "vitest";
import { runBatch } from "../../src/ledger/ledger-db.js";
import { storageChargeStatements } from "../../src/ledger/storage-charge.js";
import { checkReceiptOffline, type ReceiptView } from "../../src/shared/receipts/receipt-view.js";
import { authed, call, signup } from "./support.js";

const OPERATOR = { authorization: "Bearer test-operator-token" };

describe("storage charges have receipts", () => {
  it("signs a receipt for each storage charge that its account alone can read and check", async () => {
    const { id: accountId, apiKey } = await signup();
    const at = Date.now();
    const db = drizzle(env.DB);
    await runBatch(
      db,
      storageChargeStatements(
        db,
        {
          accountId,
          jobId: "job_storage_receipt",
          key: `storage:job_storage_receipt:${at}`,
          bytes: 2_000_000_000,
          fromMs: at - 86_400_000,
          toMs: at,
          amountMicros: 4_667,
        },
        at,
      ),
    );
    const row = await env.DB.prepare(
      "SELECT id FROM ledger_transfers WHERE kind = 'storage' AND account_id = ?",
    )
      .bind(accountId)
      .first<{ id: string }>();
    if (!row) throw new Error("no storage transfer");
    expect((await call("/v1/operator/receipts/run", { method: "POST", headers: OPERATOR })).status).toBe(200);
    const res = await call(`/v1/receipts/${row.id}`, authed(apiKey));
    expect(res.status).toBe(200);
    const view = (await res.json()) as ReceiptView;
    expect(view.receipt).toMatchObject({
      kind: "storage",
      transferId: row.id,
      accountId,
      jobId: "job_storage_receipt",
      chargedMicros: 4_667,
    });
    expect((await checkReceiptOffline(view)).filter((c) => !c.ok)).toEqual([]);
    const other = await signup();
    expect((await call(`/v1/receipts/${row.id}`, authed(other.apiKey))).status).toBe(404);
  });
});
