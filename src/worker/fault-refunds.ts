import { drizzle } from "drizzle-orm/d1";
import { unwrap } from "../durable/rpc-result.js";
import type { NodeFault } from "../ledger/fault-evidence.js";
import { sweepFaultRefunds, sweepUnprovenRefunds } from "../ledger/refund-sweep.js";
import { regionOfNode } from "./node-records.js";
import { nodeStub } from "./region-routing.js";

/**
 * The cron's refund pass: failures the evidence shows were the node's fault (an early failure of
 * a spec another node then ran, a pull failure out of line with other nodes' pulls of the image)
 * give their charges back, and each such node's region counts them against its reputation. A
 * node no region knows any more only loses the money. Then what ran unproven on a node a rejected
 * verification proved false is refunded too (counted once already, by the rejection).
 */
export async function refundNodeFaults(env: Env, now = Date.now()): Promise<NodeFault[]> {
  const refunded = await sweepFaultRefunds(drizzle(env.DB), now);
  await sweepUnprovenRefunds(drizzle(env.DB), now);
  const perNode = new Map<string, number>();
  for (const { nodeId } of refunded) perNode.set(nodeId, (perNode.get(nodeId) ?? 0) + 1);
  for (const [nodeId, count] of perNode) {
    try {
      const region = await regionOfNode(env.DB, nodeId);
      unwrap(await nodeStub(env, region, nodeId).faultFound(nodeId, count));
    } catch (error) {
      console.error(JSON.stringify({ msg: "fault not recorded against node", nodeId, error: String(error) }));
    }
  }
  return refunded;
}
