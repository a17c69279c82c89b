import { and, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { nodeOwners } from "../../schema/ledger.js";
import { nodes } from "../../schema/tables.js";
import { MeridianError } from "../shared/errors.js";
import { idPattern } from "../shared/ids.js";

const NODE_ID = idPattern("node");

/** The region a registered node belongs to; 404 for an unknown or malformed id. */
export async function regionOfNode(database: D1Database, nodeId: string): Promise<string> {
  const row = NODE_ID.test(nodeId)
    ? await drizzle(database).select({ region: nodes.region }).from(nodes).where(eq(nodes.id, nodeId)).get()
    : undefined;
  if (!row) throw new MeridianError(404, "node_not_found", `no node ${nodeId.slice(0, 64)}`);
  return row.region;
}

/** The region of a node the caller owns; another provider's node answers 404, as a missing one does. */
export async function regionOfOwnNode(
  database: D1Database,
  accountId: string,
  nodeId: string,
): Promise<string> {
  const owned = NODE_ID.test(nodeId)
    ? await drizzle(database)
        .select({ nodeId: nodeOwners.nodeId })
        .from(nodeOwners)
        .where(and(eq(nodeOwners.nodeId, nodeId), eq(nodeOwners.accountId, accountId)))
        .get()
    : undefined;
  if (!owned) throw new MeridianError(404, "node_not_found", `no node ${nodeId.slice(0, 64)} of yours`);
  return regionOfNode(database, nodeId);
}
