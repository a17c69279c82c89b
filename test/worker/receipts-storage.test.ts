import { describe, expect, it } from "vitest";
import { checkReceiptOffline, type ReceiptView } from "../../src/shared/receipts/receipt-view.js";
import { runReceipts, storageCharge } from "./storage-receipt-support.js";
import { authed, call, signup } from "./support.js";

describe("storage charges have receipts", () => {
  it("signs a receipt for each storage charge that its account alone can read and check", async () => {
    const { id: accountId, apiKey } = await signup();
    const transferId = await storageCharge(accountId, "job_storage_receipt");
    await runReceipts();
    const res = await call(`/v1/receipts/${transferId}`, authed(apiKey));
    expect(res.status).toBe(200);
    const view = (await res.json()) as ReceiptView;
    expect(view.receipt).toMatchObject({
      kind: "storage",
      transferId: transferId,
      accountId,
      jobId: "job_storage_receipt",
      chargedMicros: 4_667,
    });
    expect((await checkReceiptOffline(view)).filter((c) => !c.ok)).toEqual([]);
    const other = await signup();
    expect((await call(`/v1/receipts/${transferId}`, authed(other.apiKey))).status).toBe(404);
  });
});
