import { execFile } from "node:child_process";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * The local D1 database file wrangler dev keeps under its --persist-to folder: named by a hash of
 * the database id. Miniflare keeps its own `metadata.sqlite` in the same folder (wrangler 4.86), so
 * "the one .sqlite file there" found two and the suite failed after every job had ended.
 */
export async function d1File(state: string): Promise<string> {
  const dir = path.join(state, "v3", "d1", "miniflare-D1DatabaseObject");
  const all = await readdir(dir);
  const names = all.filter((name) => /^[0-9a-f]{64}\.sqlite$/.test(name));
  const [name] = names;
  if (name === undefined || names.length !== 1)
    throw new Error(`expected one D1 database in ${dir}, found: ${all.join(" ")}`);
  return path.join(dir, name);
}

/**
 * Rows of a read-only query on the D1 file, read by the sqlite3 CLI beside the running control
 * plane: the chaos suite checks what was stored with a reader that is not the code under test.
 */
export async function query<T>(file: string, sql: string): Promise<T[]> {
  const { stdout } = await run("sqlite3", ["-readonly", "-json", file, sql], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim() === "" ? [] : (JSON.parse(stdout) as T[]);
}

export interface MoneyAudit {
  /** Attempts that ended (their outcome recorded). */
  endedAttempts: number;
  /** Settlement rows: one per ended attempt is the rule. */
  settlements: number;
  /** Ended attempts with no settlement, or settlements of attempts that did not end. */
  unsettled: string[];
  orphanSettlements: string[];
  /** Ledger transfers that repeat an (attempt, leg) pair: a double charge or payment. */
  doubleLegs: number;
  /** Lost or returned attempts (the node's fault) that were charged anything. */
  chargedForNodeFaults: number;
  /** Σ balance over every ledger account: 0 in a double-entry ledger. */
  balanceSum: number;
  /** Σ charged over every settlement (µUSD), so a report says whether money moved at all. */
  chargedMicros: number;
  /** Settlements by outcome, for the report. */
  outcomes: Record<string, number>;
}

/** What the ledger says about the run's attempts (money is settled per attempt, in the outbox). */
export async function auditMoney(file: string): Promise<MoneyAudit> {
  const [counts] = await query<{ ended: number; settlements: number; sum: number; charged: number }>(
    file,
    `SELECT (SELECT count(*) FROM job_attempts WHERE outcome IS NOT NULL) AS ended,
            (SELECT count(*) FROM ledger_settlements) AS settlements,
            (SELECT coalesce(sum(charged_micros), 0) FROM ledger_settlements) AS charged,
            (SELECT coalesce(sum(balance_micros), 0) FROM ledger_accounts) AS sum`,
  );
  const unsettled = await query<{ id: string }>(
    file,
    `SELECT a.id FROM job_attempts a LEFT JOIN ledger_settlements s ON s.attempt_id = a.id
     WHERE a.outcome IS NOT NULL AND s.attempt_id IS NULL`,
  );
  const orphans = await query<{ id: string }>(
    file,
    `SELECT s.attempt_id AS id FROM ledger_settlements s LEFT JOIN job_attempts a ON a.id = s.attempt_id
     WHERE a.id IS NULL OR a.outcome IS NULL`,
  );
  const [legs] = await query<{ n: number }>(
    file,
    `SELECT count(*) AS n FROM (SELECT attempt_id, kind FROM ledger_transfers
     WHERE attempt_id IS NOT NULL GROUP BY attempt_id, kind HAVING count(*) > 1)`,
  );
  const [charged] = await query<{ n: number }>(
    file,
    `SELECT count(*) AS n FROM ledger_settlements
     WHERE outcome IN ('lost', 'returned') AND (charged_micros <> 0 OR provider_micros <> 0)`,
  );
  const outcomes = await query<{ outcome: string; n: number }>(
    file,
    "SELECT outcome, count(*) AS n FROM ledger_settlements GROUP BY outcome",
  );
  return {
    endedAttempts: counts?.ended ?? 0,
    settlements: counts?.settlements ?? 0,
    unsettled: unsettled.map((row) => row.id),
    orphanSettlements: orphans.map((row) => row.id),
    doubleLegs: legs?.n ?? 0,
    chargedForNodeFaults: charged?.n ?? 0,
    balanceSum: counts?.sum ?? 0,
    chargedMicros: counts?.charged ?? 0,
    outcomes: Object.fromEntries(outcomes.map((row) => [row.outcome, row.n])),
  };
}
