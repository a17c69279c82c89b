import { usageSignatures } from "../../../schema/receipts.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import type { SignedUsage } from "../../shared/receipts/usage-statement.js";

/** The outbox's insert of a checked usage statement: once per attempt, the first one kept. */
export function usageStatementInsert(db: LedgerDb, usage: SignedUsage, at: number) {
  return db
    .insert(usageSignatures)
    .values({
      attemptId: usage.statement.attemptId,
      nodeId: usage.statement.nodeId,
      body: JSON.stringify(usage),
      createdAt: at,
    })
    .onConflictDoNothing();
}
