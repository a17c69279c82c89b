import { query } from "./stored-state.js";

/** A stretch of wall-clock time (ms since the epoch): a process down, from its kill to its return. */
export interface Outage {
  from: number;
  to: number;
}

export interface LostAttempt {
  id: string;
  nodeId: string;
  assignedAt: number;
  endedAt: number;
}

/** The attempts the region ended as lost (the node gone or its lease lapsed), from the D1 file. */
export function lostAttempts(file: string): Promise<LostAttempt[]> {
  return query<LostAttempt>(
    file,
    `SELECT id, node_id AS nodeId, assigned_at AS assignedAt, ended_at AS endedAt FROM job_attempts
     WHERE outcome IN ('lost', 'returned') AND ended_at IS NOT NULL`,
  );
}

const overlaps = (a: LostAttempt, o: Outage): boolean => a.assignedAt <= o.to && a.endedAt >= o.from;

/**
 * The lost attempts a control-plane blink cost: live during one of the plane's outages (from its
 * SIGKILL until every agent was online again) and not on a node that was itself down at any time
 * in the attempt's life. Those of a killed agent are its own kill's loss (placed again, charged
 * nothing); any other attempt live across a blink must have outlived it, its container re-adopted
 * by the restarted region. Empty is the rule.
 */
export function lostToBlinks(
  lost: readonly LostAttempt[],
  planeOutages: readonly Outage[],
  agentOutages: ReadonlyMap<string, readonly Outage[]>,
): LostAttempt[] {
  return lost.filter(
    (attempt) =>
      planeOutages.some((outage) => overlaps(attempt, outage)) &&
      !(agentOutages.get(attempt.nodeId) ?? []).some((outage) => overlaps(attempt, outage)),
  );
}
