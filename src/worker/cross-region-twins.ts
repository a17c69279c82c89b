import { sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { unwrap } from "../durable/rpc-result.js";
import { verificationOptional } from "./deployment-guard.js";
import { nodeStub } from "./region-routing.js";

interface Elsewhere {
  nodeId: string;
  region: string;
  uuid: string;
}

/**
 * Nodes of other regions that report one of these GPU uuids, from the node registry in D1 (each
 * Region object knows only its own nodes). A scan of the registry's GPU lists: registrations are
 * rare next to polls, so it is paid once per registration, never per request.
 */
export async function nodesElsewhereWith(
  database: D1Database,
  nodeId: string,
  region: string,
  uuids: readonly string[],
): Promise<Elsewhere[]> {
  if (uuids.length === 0) return [];
  const rows = await drizzle(database).all<{ node_id: string; region: string; uuid: string }>(sql`
    SELECT n.id AS node_id, n.region AS region, json_extract(g.value, '$.uuid') AS uuid
    FROM nodes AS n, json_each(n.hardware, '$.gpus') AS g
    WHERE n.region <> ${region} AND n.id <> ${nodeId}
      AND json_extract(g.value, '$.uuid') IN (${sql.join(
        uuids.map((uuid) => sql`${uuid}`),
        sql`, `,
      )})`);
  return rows.map((row) => ({ nodeId: row.node_id, region: row.region, uuid: row.uuid }));
}

/**
 * After a registration: each of the node's GPU uuids that a node of another region also reports
 * makes both GPUs suspect, each in its own region — when that region still knows its node (a node
 * it forgot is no twin). Not where verification is optional (local runs share fixture uuids).
 */
export async function flagCrossRegionTwins(
  env: Env,
  node: { nodeId: string; region: string },
  uuids: readonly string[],
): Promise<number> {
  if (verificationOptional(env)) return 0;
  let flagged = 0;
  for (const twin of await nodesElsewhereWith(env.DB, node.nodeId, node.region, uuids)) {
    const there = unwrap(
      await nodeStub(env, twin.region, twin.nodeId).foreignTwin(twin.nodeId, twin.uuid, {
        nodeId: node.nodeId,
        region: node.region,
      }),
    );
    if (!there.known) continue;
    unwrap(
      await nodeStub(env, node.region, node.nodeId).foreignTwin(node.nodeId, twin.uuid, {
        nodeId: twin.nodeId,
        region: twin.region,
      }),
    );
    flagged += 1;
  }
  return flagged;
}
