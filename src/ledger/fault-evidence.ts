import { type SQL, sql } from "drizzle-orm";
import type { RefundCause } from "../../schema/disputes.js";
import { EARLY_FAILURE_MS } from "./attempt-meter.js";
import type { LedgerDb } from "./ledger-db.js";

/** How long after a failure a success of the same spec elsewhere still counts against the node. */
export const SAME_SPEC_WINDOW_MS = 24 * 3_600_000;

/**
 * Over a settlement `s`, its attempt `a` and its job `j`: the attempt failed within its first
 * minutes and, from its start to a day after its end, another node ran the same image (the same
 * digest where both reported one), command and resources to success. The spec was fine; the node
 * was not.
 */
export const FAILED_WHERE_SAME_SPEC_SUCCEEDED: SQL = sql`(
  s.outcome = 'failed' AND s.started_at IS NOT NULL
  AND s.ended_at - s.started_at < ${EARLY_FAILURE_MS}
  AND EXISTS (
    SELECT 1 FROM job_attempts AS a2 JOIN jobs AS j2 ON j2.id = a2.job_id
    WHERE a2.outcome = 'succeeded' AND a2.node_id <> s.node_id
      AND j2.image = j.image
      AND json_extract(j2.spec, '$.command') IS json_extract(j.spec, '$.command')
      AND json_extract(j2.spec, '$.resources') IS json_extract(j.spec, '$.resources')
      AND (a.image_digest IS NULL OR a2.image_digest IS NULL OR a2.image_digest = a.image_digest)
      AND a2.ended_at >= s.started_at AND a2.ended_at <= s.ended_at + ${SAME_SPEC_WINDOW_MS}
  )
)`;

/**
 * Which refund rule, if any, the evidence of one charged attempt meets: the node never said what
 * image it ran (nothing shows the work was done), or it failed early what another node ran.
 */
export async function faultOf(db: LedgerDb, attemptId: string): Promise<RefundCause | null> {
  const row = await db.get<{ no_evidence: number; same_spec: number } | undefined>(sql`
    SELECT a.image_digest IS NULL AS no_evidence, ${FAILED_WHERE_SAME_SPEC_SUCCEEDED} AS same_spec
    FROM ledger_settlements AS s
    JOIN job_attempts AS a ON a.id = s.attempt_id
    JOIN jobs AS j ON j.id = s.job_id
    WHERE s.attempt_id = ${attemptId} AND s.charged_micros > 0`);
  if (!row) return null;
  if (Number(row.same_spec) === 1) return "same_spec_succeeded_elsewhere";
  if (Number(row.no_evidence) === 1) return "no_run_evidence";
  return null;
}

/**
 * Charged early failures of the last `SAME_SPEC_WINDOW_MS` (and a bit) that the same spec's later
 * success on another node shows were the node's fault, not yet refunded; oldest first.
 */
export async function refundableFailures(
  db: LedgerDb,
  now: number,
  limit: number,
): Promise<{ attemptId: string; nodeId: string }[]> {
  const rows = await db.all<{ attempt_id: string; node_id: string }>(sql`
    SELECT s.attempt_id AS attempt_id, s.node_id AS node_id
    FROM ledger_settlements AS s
    JOIN job_attempts AS a ON a.id = s.attempt_id
    JOIN jobs AS j ON j.id = s.job_id
    WHERE s.outcome = 'failed' AND s.charged_micros > 0
      AND s.ended_at >= ${now - 2 * SAME_SPEC_WINDOW_MS}
      AND NOT EXISTS (SELECT 1 FROM attempt_refunds AS r WHERE r.attempt_id = s.attempt_id)
      AND ${FAILED_WHERE_SAME_SPEC_SUCCEEDED}
    ORDER BY s.ended_at
    LIMIT ${limit}`);
  return rows.map((row) => ({ attemptId: row.attempt_id, nodeId: row.node_id }));
}
