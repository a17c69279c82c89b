import { nodeOwners } from "../../schema/ledger.js";
import type { LedgerDb, LedgerStatement } from "./ledger-db.js";

/**
 * Records which account owns (is paid for) a node. The first owner stays: a node id follows from
 * its key, and moving a node's earnings to another account must be an explicit act, not a side
 * effect of registering again.
 */
export function nodeOwnerStatement(
  db: LedgerDb,
  nodeId: string,
  accountId: string,
  at = Date.now(),
): LedgerStatement {
  return db.insert(nodeOwners).values({ nodeId, accountId, createdAt: at }).onConflictDoNothing();
}
