import { sql } from "drizzle-orm";
import type { LedgerDb } from "./ledger-db.js";

export interface NodeEarnings {
  nodeId: string;
  /** Accrued and not yet paid out: the node's earnings account balance. */
  pendingMicros: number;
  /** Paid out so far: the node's payout transfers. */
  settledMicros: number;
}

export interface DayEarnings {
  day: string;
  nodeId: string;
  attempts: number;
  earnedMicros: number;
}

/** Earnings of the nodes an account owns (node_owners): per node over all time, and per UTC day in [from, to). */
export async function providerEarnings(
  db: LedgerDb,
  accountId: string,
  range: { from: number; to: number },
): Promise<{ nodes: NodeEarnings[]; days: DayEarnings[] }> {
  const [nodes, days] = await Promise.all([
    db.all<{ node_id: string; pending: number; settled: number }>(sql`
      SELECT o.node_id AS node_id, coalesce(a.balance_micros, 0) AS pending,
        coalesce((SELECT sum(t.amount_micros) FROM ledger_transfers AS t
                  WHERE t.debit_account_id = 'earnings:' || o.node_id AND t.kind = 'payout'), 0) AS settled
      FROM node_owners AS o LEFT JOIN ledger_accounts AS a ON a.id = 'earnings:' || o.node_id
      WHERE o.account_id = ${accountId}
      ORDER BY o.node_id`),
    db.all<{ day: string; node_id: string; attempts: number; earned: number }>(sql`
      SELECT strftime('%Y-%m-%d', s.ended_at / 1000, 'unixepoch') AS day, s.node_id AS node_id,
        count(*) AS attempts, sum(s.provider_micros) AS earned
      FROM ledger_settlements AS s JOIN node_owners AS o ON o.node_id = s.node_id
      WHERE o.account_id = ${accountId} AND s.ended_at >= ${range.from} AND s.ended_at < ${range.to}
      GROUP BY 1, 2 ORDER BY 1, 2`),
  ]);
  return {
    nodes: nodes.map((row) => ({
      nodeId: row.node_id,
      pendingMicros: Number(row.pending),
      settledMicros: Number(row.settled),
    })),
    days: days.map((row) => ({
      day: row.day,
      nodeId: row.node_id,
      attempts: Number(row.attempts),
      earnedMicros: Number(row.earned),
    })),
  };
}
