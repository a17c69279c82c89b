import { drizzle } from "drizzle-orm/d1";
import { unwrap } from "../durable/rpc-result.js";
import { type SweptRefund, sweepFaultRefunds } from "../ledger/refund-sweep.js";
import { regionOfNode } from "./node-records.js";
import { nodeStub } from "./region-routing.js";

/**
 * The cron's refund pass: charges of early failures that the same spec's success on another node
 * shows were the node's fault go back to their accounts, and each such node's region counts them
 * against its reputation. A node no region knows any more only loses the money.
 */
export async function refundNodeFaults(env: Env, now = Date.now()): Promise<SweptRefund[]> {
  const refunded = await sweepFaultRefunds(drizzle(env.DB), now);
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
