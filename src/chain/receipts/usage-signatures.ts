import { usageSignatures } from "../../../schema/receipts.js";
import type { LedgerDb } from "../../ledger/ledger-db.js";
import type { RegionCountersignature } from "../../shared/receipts/region-countersignature.js";
import type { SignedUsage } from "../../shared/receipts/usage-statement.js";

/**
 * The outbox's insert of a checked usage statement and the region's countersignature on it: once
 * per attempt, the first one kept.
 */
export function usageStatementInsert(
  db: LedgerDb,
  usage: SignedUsage,
  countersignature: RegionCountersignature | undefined,
  at: number,
) {
  return db
    .insert(usageSignatures)
    .values({
      attemptId: usage.statement.attemptId,
      nodeId: usage.statement.nodeId,
      body: JSON.stringify(usage),
      countersignature: countersignature ? JSON.stringify(countersignature) : null,
      createdAt: at,
    })
    .onConflictDoNothing();
}
