import { env } from "cloudflare:workers";

/**
 * What the fuzzers compare around each refused request: row counts of every table a request
 * writes itself, and the ledger's sums. One statement, so it is cheap enough to run per case.
 * Job events, attempts and job states are left out: the Region object flushes them to D1 in the
 * background (its outbox), so they change between two requests whatever those requests were.
 */
export async function storedTotals(): Promise<Record<string, number>> {
  const row = await env.DB.prepare(
    `SELECT
       (SELECT count(*) FROM accounts) AS accounts,
       (SELECT count(*) FROM api_keys) AS apiKeys,
       (SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL) AS revokedKeys,
       (SELECT count(*) FROM nodes) AS nodes,
       (SELECT count(*) FROM jobs) AS jobs,
       (SELECT count(*) FROM idempotency_keys) AS idempotencyKeys,
       (SELECT count(*) FROM audit_events) AS auditEvents,
       (SELECT count(*) FROM charge_disputes) AS disputes,
       (SELECT count(*) FROM charge_disputes WHERE state <> 'open') AS decidedDisputes,
       (SELECT count(*) FROM attempt_refunds) AS refunds,
       (SELECT count(*) FROM job_outputs) AS jobOutputs,
       (SELECT count(*) FROM job_checkpoint_blobs) AS checkpointBlobs,
       (SELECT count(*) FROM attested_devices) AS attestedDevices,
       (SELECT count(*) FROM ledger_transfers) AS transfers,
       (SELECT coalesce(sum(amount_micros), 0) FROM ledger_transfers) AS transferSum,
       (SELECT coalesce(sum(balance_micros), 0) FROM ledger_accounts) AS ledgerBalanceSum,
       (SELECT coalesce(sum(abs(balance_micros)), 0) FROM ledger_accounts) AS ledgerAbsSum`,
  ).first<Record<string, number>>();
  if (row === null) throw new Error("no totals");
  return row;
}
