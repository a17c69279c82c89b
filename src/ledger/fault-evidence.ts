import { type SQL, sql } from "drizzle-orm";
import type { RefundCause } from "../../schema/disputes.js";
import { EARLY_FAILURE_MS } from "./attempt-meter.js";
import type { LedgerDb } from "./ledger-db.js";

/** How long after a failure a success of the same spec elsewhere still counts against the node. */
export const SAME_SPEC_WINDOW_MS = 24 * 3_600_000;

/** How far either side of a failed pull other nodes' pulls of the same image are weighed. */
export const PULL_WINDOW_MS = 3_600_000;

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
 * The other nodes' attempts of `j`'s image (the same reference, or a run of the digest a pinned
 * reference names) within `PULL_WINDOW_MS` of attempt `a`, as `x` over `jx`.
 */
function sameImageNear(x: string): SQL {
  const ax = sql.raw(`a${x}`);
  const jx = sql.raw(`j${x}`);
  return sql`${ax}.node_id <> a.node_id
      AND (${jx}.image = j.image OR (${ax}.image_digest IS NOT NULL AND substr(j.image, -72) = '@' || ${ax}.image_digest))
      AND coalesce(${ax}.started_at, ${ax}.ended_at) >= a.assigned_at - ${PULL_WINDOW_MS}
      AND coalesce(${ax}.started_at, ${ax}.ended_at) <= a.ended_at + ${PULL_WINDOW_MS}`;
}

/**
 * Over `s`, `a`, `j`: the attempt failed because its node said the image could not be pulled,
 * while more other nodes started that image near then (their pull worked) than nodes, this one
 * included, failed to pull it. The image was fine; this node's pull was out of line. An image that
 * fails everywhere stays the user's, and one node claiming a start cannot blame an honest node
 * alone: it takes more successes than failures.
 */
export const PULL_FAILED_WHERE_IMAGE_PULLED_ELSEWHERE: SQL = sql`(
  s.outcome = 'failed' AND a.error_kind = 'image_pull' AND a.ended_at IS NOT NULL
  AND (
    SELECT count(DISTINCT a2.node_id) FROM job_attempts AS a2 JOIN jobs AS j2 ON j2.id = a2.job_id
    WHERE a2.started_at IS NOT NULL AND ${sameImageNear("2")}
  ) > 1 + (
    SELECT count(DISTINCT a3.node_id) FROM job_attempts AS a3 JOIN jobs AS j3 ON j3.id = a3.job_id
    WHERE a3.error_kind = 'image_pull' AND a3.started_at IS NULL AND ${sameImageNear("3")}
  )
)`;

/**
 * Over `s`: the attempt ran on a node whose verification was then rejected for a proven lie (the
 * region's slash order), and it ran after the node's last passed check (`lastVerifiedAt` in the
 * order's record; never passed: all of it) and before the rejection. Whatever its outcome, nothing
 * shows it had the hardware it was charged for.
 */
export const RAN_UNPROVEN_ON_A_REJECTED_NODE: SQL = sql`(
  s.started_at IS NOT NULL AND EXISTS (
    SELECT 1 FROM slash_orders AS o
    WHERE o.node_id = s.node_id AND s.started_at <= o.created_at
      AND coalesce(s.ended_at, s.started_at) >= coalesce(json_extract(o.record, '$.lastVerifiedAt'), 0)
  )
)`;

/** How far back the sweep looks for rejections whose unproven runs it has not refunded yet. */
export const REJECTION_WINDOW_MS = 7 * 24 * 3_600_000;

/**
 * Charged attempts not yet refunded that ran unproven on a node a recent rejection proved false
 * (`RAN_UNPROVEN_ON_A_REJECTED_NODE`), oldest first.
 */
export async function unprovenRuns(db: LedgerDb, now: number, limit: number): Promise<string[]> {
  const rows = await db.all<{ attempt_id: string }>(sql`
    SELECT s.attempt_id AS attempt_id FROM ledger_settlements AS s
    WHERE s.charged_micros > 0
      AND s.node_id IN (SELECT node_id FROM slash_orders WHERE created_at >= ${now - REJECTION_WINDOW_MS})
      AND NOT EXISTS (SELECT 1 FROM attempt_refunds AS r WHERE r.attempt_id = s.attempt_id)
      AND ${RAN_UNPROVEN_ON_A_REJECTED_NODE}
    ORDER BY s.ended_at
    LIMIT ${limit}`);
  return rows.map((row) => row.attempt_id);
}

/**
 * Which refund rule, if any, the evidence of one charged attempt meets: its node was then proven
 * false, the node never said what image it ran (nothing shows the work was done), it failed early
 * what another node ran, or its pull failed where other nodes pulled the image.
 */
export async function faultOf(db: LedgerDb, attemptId: string): Promise<RefundCause | null> {
  const row = await db.get<
    { no_evidence: number; same_spec: number; pulled: number; unproven: number } | undefined
  >(sql`
    SELECT a.image_digest IS NULL AS no_evidence, ${FAILED_WHERE_SAME_SPEC_SUCCEEDED} AS same_spec,
      ${PULL_FAILED_WHERE_IMAGE_PULLED_ELSEWHERE} AS pulled, ${RAN_UNPROVEN_ON_A_REJECTED_NODE} AS unproven
    FROM ledger_settlements AS s
    JOIN job_attempts AS a ON a.id = s.attempt_id
    JOIN jobs AS j ON j.id = s.job_id
    WHERE s.attempt_id = ${attemptId} AND s.charged_micros > 0`);
  if (!row) return null;
  if (Number(row.unproven) === 1) return "node_failed_verification";
  if (Number(row.same_spec) === 1) return "same_spec_succeeded_elsewhere";
  if (Number(row.pulled) === 1) return "image_pulled_elsewhere";
  if (Number(row.no_evidence) === 1) return "no_run_evidence";
  return null;
}

/** A failed attempt the evidence shows was its node's fault, and the rule that shows it. */
export interface NodeFault {
  attemptId: string;
  nodeId: string;
  cause: "same_spec_succeeded_elsewhere" | "image_pulled_elsewhere";
}

/**
 * Failures of the last `SAME_SPEC_WINDOW_MS` (and a bit) not yet counted against their node that
 * the evidence shows were its fault: an early failure of a spec another node then ran to success,
 * or a pull failure out of line with other nodes' pulls of the image. Charged or not (a failed
 * pull never started, so it charged nothing, but the job failed all the same); oldest first.
 */
export async function nodeFaults(db: LedgerDb, now: number, limit: number): Promise<NodeFault[]> {
  const rows = await db.all<{ attempt_id: string; node_id: string; same_spec: number }>(sql`
    SELECT s.attempt_id AS attempt_id, s.node_id AS node_id, ${FAILED_WHERE_SAME_SPEC_SUCCEEDED} AS same_spec
    FROM ledger_settlements AS s
    JOIN job_attempts AS a ON a.id = s.attempt_id
    JOIN jobs AS j ON j.id = s.job_id
    WHERE s.outcome = 'failed' AND a.fault_found_at IS NULL
      AND s.ended_at >= ${now - 2 * SAME_SPEC_WINDOW_MS}
      AND (${FAILED_WHERE_SAME_SPEC_SUCCEEDED} OR ${PULL_FAILED_WHERE_IMAGE_PULLED_ELSEWHERE})
    ORDER BY s.ended_at
    LIMIT ${limit}`);
  return rows.map((row) => ({
    attemptId: row.attempt_id,
    nodeId: row.node_id,
    cause: Number(row.same_spec) === 1 ? "same_spec_succeeded_elsewhere" : "image_pulled_elsewhere",
  }));
}
