import { env } from "cloudflare:workers";
import { drizzle } from "drizzle-orm/d1";
import { runBatch } from "../../src/ledger/ledger-db.js";
import { storageChargeStatements } from "../../src/ledger/storage-charge.js";
import { call } from "./support.js";

/**
 * Charges an account for a day of 2 GB kept in the platform's storage (4,667 µUSD) and returns the
 * storage transfer's `tx_…` id: the id its receipt is read by, once a receipts run has minted it.
 */
export async function storageCharge(accountId: string, jobId: string, at = Date.now()): Promise<string> {
  const db = drizzle(env.DB);
  await runBatch(
    db,
    storageChargeStatements(
      db,
      {
        accountId,
        jobId,
        key: `storage:${jobId}:${at}`,
        bytes: 2_000_000_000,
        fromMs: at - 86_400_000,
        toMs: at,
        amountMicros: 4_667,
      },
      at,
    ),
  );
  const row = await env.DB.prepare(
    "SELECT id FROM ledger_transfers WHERE kind = 'storage' AND account_id = ? AND job_id = ?",
  )
    .bind(accountId, jobId)
    .first<{ id: string }>();
  if (!row) throw new Error("no storage transfer");
  return row.id;
}

/** Mints, batches and signs every receipt due (POST /v1/operator/receipts/run). */
export async function runReceipts(): Promise<void> {
  const res = await call("/v1/operator/receipts/run", {
    method: "POST",
    headers: { authorization: "Bearer test-operator-token" },
  });
  if (res.status !== 200) throw new Error(`receipts run answered ${res.status}: ${await res.text()}`);
}
